from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from agent.types import ChatMessage, Generation, GenerationConfig, Grounding, StreamChunk


@runtime_checkable
class LLM(Protocol):
    """A chat model. `messages` is the conversation, oldest first, ending with the user turn.

    `grounding` repeats, as structured values, what the RAG prompt in `messages` says about the
    question and its context blocks. Models that read the prompt may ignore it.
    """

    provider: str

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> Generation: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> AsyncIterator[StreamChunk]: ...
