"""A fake LLM that trickles a token every TRICKLE_MS milliseconds (TRICKLE_TOKENS of them),
for `bench/widget.py`: streams stay open as long as a slow model keeps them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence

from agent.types import ChatMessage, Generation, GenerationConfig, Grounding, StreamChunk, Usage

INTERVAL = int(os.environ.get("TRICKLE_MS", "100")) / 1000
TOKENS = int(os.environ.get("TRICKLE_TOKENS", "300"))


class TricklingLLM:
    provider = "trickle"

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> Generation:
        await asyncio.sleep(INTERVAL * TOKENS)
        return Generation(text="word " * TOKENS, usage=Usage(10, TOKENS), finish_reason="stop")

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> AsyncIterator[StreamChunk]:
        for n in range(TOKENS):
            await asyncio.sleep(INTERVAL)
            last = n == TOKENS - 1
            yield StreamChunk(
                delta="word ", usage=Usage(10, TOKENS) if last else None,
                finish_reason="stop" if last else None,
            )  # fmt: skip
