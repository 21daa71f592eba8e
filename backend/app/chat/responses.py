"""Responses whose work runs after the request's transaction has committed.

`SessionDep` commits when the endpoint function returns, before the response is sent. A
chat answer is produced inside the response instead of the endpoint, so no database
connection (on SQLite: no write lock) is held while a model works.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

import anyio
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent, format_sse_event
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send


class AfterCommitJSON(Response):
    """JSON from `produce()`, run once the request's session is gone.

    Nothing has been sent when `produce` runs, so an AppError it raises still becomes the
    usual error envelope with its status code.
    """

    media_type = "application/json"

    def __init__(self, produce: Callable[[], Awaitable[BaseModel]]) -> None:
        super().__init__()
        self._produce = produce

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        model = await self._produce()
        await JSONResponse(model.model_dump(mode="json"))(scope, receive, send)


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
