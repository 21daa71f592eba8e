"""Responses whose work runs after the request's transaction has committed.

`SessionDep` commits when the endpoint function returns, before the response is sent. A
chat answer is produced inside the response instead of the endpoint, so no database
connection (on SQLite: no write lock) is held while a model works.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse, Response
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
