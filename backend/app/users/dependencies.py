"""Authentication as a typed dependency: `CurrentUser` accepts a bearer JWT or an X-API-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from app.core.db import SessionDep
from app.core.errors import Unauthorized
from app.core.runtime import RuntimeDep
from app.users import service
from app.users.models import User

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, description="Access JWT from /auth/login"
)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


async def get_current_user(
    session: SessionDep,
    runtime: RuntimeDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> User:
    if token:
        return await service.user_from_access_token(session, token, runtime.settings)
    if api_key:
        return await service.user_from_api_key(session, api_key)
    raise Unauthorized()


CurrentUser = Annotated[User, Depends(get_current_user)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
