"""Plain values that cross the boundary between `agent` and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Page:
    """Text of one page (PDF) or of the whole file (other formats); `number` is 1-based."""

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    pages: list[Page]
    title: str | None = None
    # Set instead of `pages` when a PDF was too long to parse in one run: its page count, for
    # the caller to parse it in page ranges (see `parse_isolated(split_above=...)`).
    unparsed_page_count: int | None = None

    @property
    def page_count(self) -> int:
        return len(self.pages)


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    text: str
    token_count: int
    page: int | None = None
    heading: str | None = None


class EmbeddingTask(StrEnum):
    DOCUMENT = "document"
    QUERY = "query"


@dataclass(frozen=True, slots=True)
class VectorRecord:
    """One vector to store. Metadata stays small: ids and short fields only."""

    id: str
    values: list[float]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VectorMatch:
    id: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)


Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationConfig:
    model: str | None = None
    temperature: float = 0.2
    max_output_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    usage: Usage
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """One piece of a streamed answer. The last chunk of a stream carries the usage."""

    delta: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ContextBlock:
    """One retrieved passage as numbered in the prompt: `[number]` is how answers cite it."""

    number: int
    text: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Grounding:
    """The structured inputs behind a RAG prompt.

    The prompt already renders all of this as text, so a model that reads the prompt can
    ignore it; the extractive answerer cannot read prose instructions and works from this.
    """

    question: str
    blocks: tuple[ContextBlock, ...] = ()
    selected_text: str | None = None
