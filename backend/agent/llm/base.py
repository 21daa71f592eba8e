from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from agent.types import ChatMessage, Generation, GenerationConfig, StreamChunk


@runtime_checkable
class LLM(Protocol):
    """A chat model. `messages` is the conversation, oldest first, ending with the user turn."""

    provider: str

    async def generate(
        self, messages: Sequence[ChatMessage], *, system: str, config: GenerationConfig
    ) -> Generation: ...

    def stream(
        self, messages: Sequence[ChatMessage], *, system: str, config: GenerationConfig
    ) -> AsyncIterator[StreamChunk]: ...
