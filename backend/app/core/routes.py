"""What a route says about itself, and the route class every API route uses.

Markers are attributes on the endpoint function, read when the request arrives (the unit of
work a route gets, an API key's scope) or when routes are added to the app (body limits).

A route whose dependencies ask for the request's session (`SessionDep`) gets its unit of
work from the route class: `runtime.read()` for GET, HEAD and routes marked `reads_only`,
`runtime.transaction()` otherwise, opened around dependencies, endpoint and serialisation.
It ends when the route's response is built, before it is sent, so a failed commit is a 500.
Opening it here rather than in a generator dependency saves FastAPI's exit-stack work for
that dependency (about 20 µs a request).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

E = TypeVar("E", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where the route class keeps the request's session for `request_session`.
SESSION_KEY = "chatsphere.session"
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


async def request_session(request: Request) -> Any:
    """The request's session (see the module docstring); `SessionDep` in app.core.runtime."""
    try:
        return request.scope[SESSION_KEY]
    except KeyError:
        raise RuntimeError("the request's session needs a TextRoute (app.core.routes)") from None


def uses(dependant: Dependant, call: Callable[..., Any]) -> bool:
    """Whether `call` is among the dependencies of `dependant`, at any depth."""
    return dependant.call is call or any(uses(d, call) for d in dependant.dependencies)


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
    """Every API route: JSON strings must be Unicode, the route sets its body limit, and it
    opens the request's unit of work when its dependencies ask for the session."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        large = bool(marked(self.endpoint, LARGE_BODY))
        with_session = uses(self.dependant, request_session)
        reads_only = bool(marked(self.endpoint, READS_ONLY))

        async def handle(request: Request) -> Any:
            scope = request.scope
            runtime = request.app.state.runtime
            if large:
                scope[BODY_LIMIT_KEY] = 2 * runtime.settings.max_upload_bytes + _ENVELOPE_BYTES
            if not with_session:
                return await handler(TextRequest(scope, request.receive))
            reads = reads_only or scope["method"] in SAFE_METHODS
            async with runtime.read() if reads else runtime.transaction() as session:
                scope[SESSION_KEY] = session
                try:
                    return await handler(TextRequest(scope, request.receive))
                finally:
                    del scope[SESSION_KEY]  # the session ends here; nothing may reach it later

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
