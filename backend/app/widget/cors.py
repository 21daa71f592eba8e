"""CORS for the widget's API, decided per bot: only the sites in its `allowed_origins` (and
the app's own pages) get CORS headers, never with credentials. A preflight from any other
site answers 403 `origin_not_allowed` without them, so the browser blocks the request
before it is sent.

Pure ASGI, outside the rate-limit middleware, so that a 429 reaches an allowed site's widget
readable (with its Retry-After).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import AppError, error_response
from app.widget import origins, service
from app.widget.exceptions import OriginNotAllowed

PREFIX = "/api/v1/widget/"
_ALLOW_METHODS = b"GET, POST, OPTIONS"
_ALLOW_HEADERS = b"authorization, content-type"
_EXPOSE = b"Retry-After, X-Request-ID, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"


class WidgetCORSMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        preflight = scope["method"] == "OPTIONS" and b"access-control-request-method" in headers
        allowed = bool(origin) and await self._allowed(scope, path, origin)
        if preflight:
            if not allowed:
                error: AppError = OriginNotAllowed(details={"origin": origin or None})
                response = error_response(
                    Request(scope), error.status_code, error.code, error.message, error.details
                )
                await response(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 204,
                        "headers": [*_cors_headers(origin), (b"access-control-allow-methods",
                                    _ALLOW_METHODS), (b"access-control-allow-headers",
                                    _ALLOW_HEADERS), (b"access-control-max-age", b"600")]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not name.lower().startswith(b"access-control-") and name.lower() != b"vary"
                ]
                message = {**message, "headers": [*kept, *_cors_headers(origin),
                                                  (b"access-control-expose-headers", _EXPOSE)]}  # fmt: skip
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _allowed(self, scope: Scope, path: str, origin: str) -> bool:
        public_key = path[len(PREFIX) :].split("/", 1)[0]
        runtime = scope["app"].state.runtime
        try:
            bot = await service.public_bot(runtime, public_key)
        except AppError:
            return False
        own = origins.own_origins(scope, runtime.settings.public_base_url)
        return origins.allows(list(bot.allowed_origins), origins.normalise(origin), own)


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"vary", b"Origin"),
    ]
