"""A zero-delay, deterministic LLM for benchmarks and tests (provider "fake").

Its answer repeats the question and cites every context block it was given, so a caller
can see what reached the model; `calls` records every request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from agent.llm.local import estimate_usage, stream_words
from agent.types import ChatMessage, Generation, GenerationConfig, Grounding, StreamChunk


@dataclass(frozen=True, slots=True)
class FakeCall:
    messages: tuple[ChatMessage, ...]
    system: str
    config: GenerationConfig
    grounding: Grounding | None


class FakeLLM:
    provider = "fake"

    def __init__(self, reply: str | None = None) -> None:
        self.reply = reply
        self.calls: list[FakeCall] = []

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> Generation:
        text = self._answer(messages, system, config, grounding)
        return Generation(text=text, usage=estimate_usage(system, messages, text), finish_reason="stop")

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> AsyncIterator[StreamChunk]:
        text = self._answer(messages, system, config, grounding)
        async for chunk in stream_words(text, estimate_usage(system, messages, text)):
            yield chunk

    def _answer(
        self,
        messages: Sequence[ChatMessage],
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None,
    ) -> str:
        self.calls.append(FakeCall(tuple(messages), system, config, grounding))
        if self.reply is not None:
            return self.reply
        question = grounding.question if grounding else (messages[-1].content if messages else "")
        citations = " ".join(f"[{b.number}]" for b in grounding.blocks) if grounding else ""
        return f"Answer to: {question} {citations}".strip()
