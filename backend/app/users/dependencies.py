"""Authentication as a typed dependency: `CurrentUser` accepts a bearer JWT or an X-API-Key.

Either way it reads at most one row: who owns the token or the key, kept for a moment in
the runtime's cache (`AUTH_CACHE_SECONDS`; this process forgets it at once when it changes
it). An API key's `last_used_at` is written at most once a minute, after the response, so
reads stay reads and a request never holds two connections.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.errors import Unauthorized
from app.core.runtime import Runtime, SessionDep
from app.core.security import hash_secret
from app.users import service
from app.users.models import ApiKeyGrant, Principal

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, description="Access JWT from /auth/login"
)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


async def get_current_user(
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    # Every authenticated request resolves this: each dependency node costs FastAPI ~15 µs,
    # so the runtime comes from the request rather than from RuntimeDep.
    runtime: Runtime = request.app.state.runtime
    if token:
        user_id, version = service.access_token_claims(token, settings=runtime.settings)
        key = service.principal_key(user_id)
        principal = runtime.cache.get(key)
        if principal is None:
            principal = await service.load_principal(session, user_id)
            runtime.cache.set(key, principal)
        return service.check_principal(principal, version)
    if api_key:
        principal, grant = await _api_key_owner(session, runtime, api_key)
        if service.needs_touch(grant):
            # Recorded once: the cached grant says "used now" for the requests that follow.
            touched = dataclasses.replace(grant, last_used_at=utcnow())
            runtime.cache.set(service.api_key_cache_key(grant.key_hash), (principal, touched))
            background.add_task(_touch, runtime, grant.id)
        return service.check_principal(principal)
    raise Unauthorized()


async def _api_key_owner(
    session: AsyncSession, runtime: Runtime, api_key: str
) -> tuple[Principal, ApiKeyGrant]:
    key = service.api_key_cache_key(hash_secret(api_key))
    found = runtime.cache.get(key)
    if found is None:
        found = await service.api_key_owner(session, api_key)
        runtime.cache.set(key, found)
    return found


async def _touch(runtime: Runtime, key_id: uuid.UUID) -> None:
    async with runtime.transaction() as session:
        await service.touch_api_key(session, key_id)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
