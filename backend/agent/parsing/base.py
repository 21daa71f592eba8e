from __future__ import annotations

from typing import Protocol

from agent.types import ParsedDocument


class Parser(Protocol):
    """Turns a file's bytes into pages of text. Raises `ParseError` with a person-readable reason."""

    def parse(self, data: bytes) -> ParsedDocument: ...
