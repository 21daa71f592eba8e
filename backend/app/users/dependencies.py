"""Authentication as a typed dependency: `CurrentUser` accepts a bearer JWT or an X-API-Key.

Either way it reads at most one row: who owns the token or the key, kept for a moment in
the runtime's cache (`AUTH_CACHE_SECONDS`; this process forgets it at once when it changes
it). An API key's `last_used_at` is written at most once a minute, after the response, so
reads stay reads and a request never holds two connections.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import ratelimit
from app.core.db import utcnow
from app.core.errors import Unauthorized
from app.core.routes import SAFE_METHODS, mark, marked, uses
from app.core.runtime import Runtime, SessionDep
from app.core.security import hash_secret
from app.users import service
from app.users.exceptions import InsufficientScope
from app.users.models import Principal

E = TypeVar("E", bound=Callable[..., Any])

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, description="Access JWT from /auth/login"
)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """(bearer token, API key) from the headers, as `oauth2_scheme` and `api_key_scheme`
    read them."""
    token = None
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value:
            token = value.strip()
    return token, request.headers.get("x-api-key") or None


async def get_current_user(
    session: SessionDep, request: Request, background: BackgroundTasks
) -> Principal:
    # Every authenticated request resolves this, and each dependency node costs FastAPI
    # tens of µs: the runtime and the credentials come from the request rather than from
    # RuntimeDep and the security schemes' own dependencies (`document_security` puts the
    # schemes in the OpenAPI document).
    runtime: Runtime = request.app.state.runtime
    token, api_key = _credentials(request)
    if token and token.startswith(service.API_KEY_PREFIX + "_"):
        # OpenAI clients send the API key as a bearer token; so may anyone else.
        api_key, token = token, None
    if token:
        user_id, version = service.access_token_claims(token, settings=runtime.settings)
        key = service.principal_key(user_id)
        principal = runtime.cache.get(key)
        if principal is None:
            principal = await service.load_principal(session, user_id)
            runtime.cache.set(key, principal)
        service.check_principal(principal, version)
        limited_as = f"user:{principal.id}"
    elif api_key:
        principal = await _api_key_owner(session, runtime, api_key)
        grant = principal.api_key
        assert grant is not None
        if service.needs_touch(grant):
            # Recorded once: the cached grant says "used now" for the requests that follow.
            grant = dataclasses.replace(grant, last_used_at=utcnow())
            principal = dataclasses.replace(principal, api_key=grant)
            runtime.cache.set(service.api_key_cache_key(grant.key_hash), principal)
            background.add_task(_touch, runtime, grant.id)
        service.check_principal(principal)
        limited_as = f"key:{grant.id}"
    else:
        raise Unauthorized()
    scope = required_scope(request)
    if not principal.may(scope):
        raise InsufficientScope(details={"required_scope": scope})
    quota = await runtime.rate_limiter.hit(runtime.settings.rate_limit_per_principal, limited_as)
    ratelimit.record(request.state, quota)
    if scope == "chat" and request.method == "POST":
        chat = await runtime.rate_limiter.hit(runtime.settings.rate_limit_chat, "chat", limited_as)
        ratelimit.record(request.state, chat)
    return principal


_SCOPE = "__chatsphere_scope__"


def requires_scope(scope: str) -> Callable[[E], E]:
    """Mark the API-key scope a route needs, where its method does not say it (reads need
    `read`, other methods `write`): `chat` for chat turns, `keys` for keys and the account."""
    return mark(_SCOPE, scope)


def required_scope(request: Request) -> str:
    scope = marked(request.scope.get("endpoint"), _SCOPE)
    return scope or ("read" if request.method in SAFE_METHODS else "write")


async def _api_key_owner(session: AsyncSession, runtime: Runtime, api_key: str) -> Principal:
    """The key's owner, carrying the key: cached as one object, so a request that hits the
    cache builds nothing."""
    key = service.api_key_cache_key(hash_secret(api_key))
    principal = runtime.cache.get(key)
    if principal is None:
        owner, grant = await service.api_key_owner(session, api_key)
        principal = dataclasses.replace(owner, api_key=grant)
        runtime.cache.set(key, principal)
    return principal


async def _touch(runtime: Runtime, key_id: uuid.UUID) -> None:
    async with runtime.transaction() as session:
        await service.touch_api_key(session, key_id)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def document_security(app: FastAPI) -> None:
    """List the two ways to authenticate in the OpenAPI document (the Authorize button in
    /docs), on every operation that depends on `get_current_user`."""
    schemes = {
        scheme.scheme_name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for scheme in (oauth2_scheme, api_key_scheme)
    }
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {})["securitySchemes"] = schemes
        for route in app.routes:
            if isinstance(route, APIRoute) and uses(route.dependant, get_current_user):
                for method in route.methods:
                    operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation["security"] = [{name: []} for name in schemes]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
