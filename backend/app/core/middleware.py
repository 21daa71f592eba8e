"""Pure ASGI middleware: one pass per request for request id, metrics, access log and the
rate-limit headers; and the per-client-address limit every /api request passes first.

The request id is taken from `X-Request-ID` when it is sane, else generated; it is echoed on
the response, bound to every log line of the request, and labels nothing in metrics (routes
are labelled by template, never by raw path).
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import RateLimited, error_response
from app.core.logging import get_logger
from app.core.metrics import observe_request
from app.core.ratelimit import STATE_KEY, Quota
from app.core.routes import BODY_LIMIT_KEY

log = get_logger("chatsphere.access", batched=True)
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
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
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
                quota: Quota | None = state.get(STATE_KEY)
                if quota is not None and not any(h[0] == b"ratelimit-limit" for h in headers):
                    headers += [
                        (k.lower().encode(), v.encode()) for k, v in quota.headers().items()
                    ]
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


class ClientRateLimitMiddleware:
    """Every /api request counts against its client address before anything else runs
    (health checks excepted). The address is uvicorn's: X-Forwarded-For counts only from
    the proxies in FORWARDED_ALLOW_IPS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or "/health" in path:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        runtime = scope["app"].state.runtime
        rule = runtime.settings.rate_limit_per_ip
        try:
            quota = await runtime.rate_limiter.hit(rule, "ip", client[0] if client else "unknown")
        except RateLimited as exc:
            response = error_response(
                Request(scope), 429, exc.code, exc.message, exc.details, exc.headers
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = quota
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Request bodies are bounded before they are read: a declared Content-Length past the
    limit is refused on the first read, and a body without one is counted as it arrives.
    The limit is MAX_REQUEST_KB unless the route raised it (document uploads). The 413 is an
    HTTPException raised where the body is read, so it answers in the error envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        default = scope["app"].state.runtime.settings.max_request_bytes
        declared = _content_length(scope)
        received = 0

        async def limited() -> Message:
            nonlocal received
            limit = scope.get(BODY_LIMIT_KEY, default)
            if declared is not None and declared > limit:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(limit: int) -> HTTPException:
    size = f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"
    return HTTPException(413, f"The request body is larger than {size}.")
