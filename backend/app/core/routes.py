"""What a route says about itself, and the route class every API route uses.

Markers are attributes on the endpoint function, read when the request arrives (the unit of
work a route gets, an API key's scope) or when routes are added to the app (body limits).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.routing import APIRoute

E = TypeVar("E", bound=Callable[..., Any])
READS_ONLY = "__chatsphere_reads_only__"
LARGE_BODY = "__chatsphere_large_body__"
# Where a route tells `BodyLimitMiddleware` its limit, before its body is read.
BODY_LIMIT_KEY = "chatsphere.body_limit"
# Multipart headers and fields around an uploaded file.
_ENVELOPE_BYTES = 64 * 1024


def marked(endpoint: Any, marker: str, default: Any = None) -> Any:
    return getattr(endpoint, "__dict__", {}).get(marker, default)


def mark(marker: str, value: Any = True) -> Callable[[E], E]:
    def apply(endpoint: E) -> E:
        endpoint.__dict__[marker] = value
        return endpoint

    return apply


# A route that writes nothing itself although its method is not GET (a search, the first
# half of a chat turn): its unit of work is a `read()`.
reads_only = mark(READS_ONLY)
# A route whose body carries a document: MAX_UPLOAD_MB (pasted text: twice that, for JSON's
# escapes) instead of MAX_REQUEST_KB.
large_body = mark(LARGE_BODY)


class TextRequest(Request):
    async def json(self) -> Any:
        """JSON whose strings are valid Unicode: a lone surrogate ("\\ud800") could be neither
        hashed, nor encoded, nor stored, so it is a 422 like any other malformed body."""
        if not hasattr(self, "_json"):
            body = await self.body()
            value = json.loads(body)
            if b"\\u" in body and _has_lone_surrogate(value):
                raise json.JSONDecodeError("text that is not valid Unicode", body.decode(), 0)
            self._json = value
        return self._json


class TextRoute(APIRoute):
    """Every API route: JSON strings must be Unicode, and the route sets its body limit."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        large = bool(marked(self.endpoint, LARGE_BODY))

        async def handle(request: Request) -> Any:
            if large:
                settings = request.app.state.runtime.settings
                request.scope[BODY_LIMIT_KEY] = 2 * settings.max_upload_bytes + _ENVELOPE_BYTES
            return await handler(TextRequest(request.scope, request.receive))

        return handle


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False
