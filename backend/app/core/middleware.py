"""One pure ASGI pass per request: request id, Prometheus metrics and the access log.

The request id is taken from `X-Request-ID` when it is sane, else generated; it is echoed on
the response, bound to every log line of the request, and labels nothing in metrics (routes
are labelled by template, never by raw path).
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import get_logger
from app.core.metrics import observe_request

log = get_logger("chatsphere.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_HEADER = b"x-request-id"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        encoded = request_id.encode()
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != _HEADER]
                headers.append((_HEADER, encoded))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            observe_request(scope, status, elapsed)
            if self.access_log:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )
            structlog.contextvars.unbind_contextvars("request_id")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _HEADER:
            incoming = value.decode("latin-1")
            return incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
    return uuid.uuid4().hex
