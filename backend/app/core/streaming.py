"""Server-Sent Events: the response every stream uses (chat answers, the widget's, document
events), and keep-alive comments so that proxies and browsers do not close a connection while
nothing happens."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

import anyio
from fastapi.encoders import jsonable_encoder
from fastapi.sse import EventSourceResponse, ServerSentEvent, format_sse_event
from starlette.types import Receive, Scope, Send

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


class EventStream(EventSourceResponse):
    """Server-Sent Events from an async iterator of `ServerSentEvent`s.

    The iterator is stopped as soon as the client disconnects (an `http.disconnect`, or a
    failed send), and always closed before the response ends, so its clean-up runs now.
    """

    def __init__(self, events: AsyncIterator[ServerSentEvent]) -> None:
        super().__init__(events, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        async with aclosing(self._events) as events, anyio.create_task_group() as tg:
            tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
            try:
                await send(start)
                async for event in events:
                    await send(
                        {"type": "http.response.body", "body": encode(event), "more_body": True}
                    )
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                pass  # the client is gone; closing `events` ends generation
            tg.cancel_scope.cancel()


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def encode(event: ServerSentEvent) -> bytes:
    """The SSE wire format, as FastAPI's own SSE endpoints write it (data is JSON)."""
    data = event.raw_data
    if data is None and event.data is not None:
        data = json.dumps(jsonable_encoder(event.data), ensure_ascii=False)
    return format_sse_event(
        data_str=data, event=event.event, id=event.id, retry=event.retry, comment=event.comment
    )
