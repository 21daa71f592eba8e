"""A zero-delay, deterministic LLM for benchmarks and tests (provider "fake").

Its answer repeats the question and cites every context block it was given, so a caller
can see what reached the model; `calls` records every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.llm.local import InstantLLM
from agent.types import ChatMessage, GenerationConfig, Grounding


@dataclass(frozen=True, slots=True)
class FakeCall:
    messages: tuple[ChatMessage, ...]
    system: str
    config: GenerationConfig
    grounding: Grounding | None


class FakeLLM(InstantLLM):
    provider = "fake"

    def __init__(self, reply: str | None = None) -> None:
        self.reply = reply
        self.calls: list[FakeCall] = []

    def compose(
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
