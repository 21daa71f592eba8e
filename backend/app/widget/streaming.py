"""Keep-alive comments in a widget's event stream, so that proxies and browsers do not close a
connection while the model thinks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import anyio
from fastapi.sse import ServerSentEvent

KEEPALIVE_SECONDS = 15.0


async def with_keepalive(
    events: AsyncGenerator[ServerSentEvent], every: float = KEEPALIVE_SECONDS
) -> AsyncIterator[ServerSentEvent]:
    """`events`, with a comment event whenever `every` seconds pass without one. Closing this
    closes `events` (so an interrupted answer is stored)."""
    iterator = events
    pending: asyncio.Future[ServerSentEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield ServerSentEvent(comment="keep-alive")
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield event
    finally:
        # The source runs in its own task (so that waiting for it can time out without
        # cancelling it). When the stream is closed (the visitor left, and the response's
        # cancel scope is cancelled), that task is cancelled and awaited, shielded, so that
        # its clean-up (storing the interrupted answer) finishes before the response ends.
        with anyio.CancelScope(shield=True):
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                    await pending
            await iterator.aclose()
