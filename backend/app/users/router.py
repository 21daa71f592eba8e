from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError

from app.core.errors import AppError
from app.core.pagination import Page, PageParamsDep
from app.core.runtime import RuntimeDep, SessionDep
from app.users import cookies, service
from app.users.dependencies import CurrentUser, client_ip, requires_scope
from app.users.exceptions import InvalidToken
from app.users.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    LoginRequest,
    RefreshRequest,
    SessionStarted,
    TokenPair,
    UserCreate,
    UserPublic,
    UserUpdate,
)

auth_router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["users"])
api_keys_router = APIRouter(prefix="/api-keys", tags=["api keys"])


@auth_router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def register(
    data: UserCreate, request: Request, session: SessionDep, runtime: RuntimeDep
) -> UserPublic:
    """Create an account. Emails are unique regardless of case."""
    await runtime.rate_limiter.hit(
        runtime.settings.register_rate_limit,
        "register-ip",
        client_ip(request),
        message="Too many accounts created from this address. Try again later.",
        exact=True,
    )
    return UserPublic.model_validate(await service.register(session, data))


async def _login(
    request: Request, session: SessionDep, runtime: RuntimeDep, email: str, password: str
) -> TokenPair:
    rule = runtime.settings.login_rate_limit
    message = "Too many login attempts. Try again later."
    limiter = runtime.rate_limiter
    await limiter.hit(rule, "login-ip", client_ip(request), message=message, exact=True)
    email_key = service.normalize_email(email)
    await limiter.hit(rule, "login-email", email_key, message=message, exact=True)
    user = await service.authenticate(session, email, password)
    return await service.issue_tokens(session, user, settings=runtime.settings)


@auth_router.post("/login", response_model=TokenPair)
async def login(
    data: LoginRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenPair:
    """Log in with JSON; returns an access token and a rotating refresh token."""
    return await _login(request, session, runtime, data.email, data.password)


@auth_router.post("/token", response_model=TokenPair)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenPair:
    """OAuth2 password form (`username` is the email), for the Authorize button in /docs."""
    try:  # the same limits as the JSON login, so nothing unbounded reaches argon2
        LoginRequest.model_validate({"email": form.username, "password": form.password})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return await _login(request, session, runtime, form.username, form.password)


@auth_router.post("/refresh", response_model=TokenPair)
async def refresh(data: RefreshRequest, session: SessionDep, runtime: RuntimeDep) -> TokenPair:
    """Trade a refresh token for a new pair. Reusing an old one revokes its whole session."""
    return await service.rotate_refresh_token(
        session, data.refresh_token, settings=runtime.settings
    )


# --- Browser sessions (the dashboard): the refresh token lives in an HttpOnly cookie ----------


@auth_router.post(
    "/session", response_model=SessionStarted, dependencies=[Depends(cookies.csrf_guard)]
)
async def start_session(
    data: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> SessionStarted:
    """Sign in from the dashboard: the access token in the body (keep it in memory), the
    refresh token in an HttpOnly, SameSite=Strict cookie. Needs `X-Requested-With`."""
    pair = await _login(request, session, runtime, data.email, data.password)
    cookies.set_refresh_cookie(response, request, pair.refresh_token, runtime.settings)
    return SessionStarted(access_token=pair.access_token, expires_in=pair.expires_in)


@auth_router.post(
    "/session/refresh",
    response_model=SessionStarted,
    dependencies=[Depends(cookies.csrf_guard)],
)
async def refresh_session(
    request: Request, response: Response, session: SessionDep, runtime: RuntimeDep
) -> SessionStarted:
    """A new access token for the browser session, and a rotated cookie. Reusing an old
    cookie ends the session (401)."""
    token = request.cookies.get(cookies.COOKIE)
    if not token or len(token) > 512:
        raise InvalidToken("No session: sign in.", headers=cookies.cleared_cookie_header(request))
    try:
        pair = await service.rotate_refresh_token(session, token, settings=runtime.settings)
    except AppError as exc:
        exc.headers = {**exc.headers, **cookies.cleared_cookie_header(request)}
        raise
    cookies.set_refresh_cookie(response, request, pair.refresh_token, runtime.settings)
    return SessionStarted(access_token=pair.access_token, expires_in=pair.expires_in)


@auth_router.delete(
    "/session",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(cookies.csrf_guard)],
)
async def end_session(request: Request, session: SessionDep) -> Response:
    """Sign out: the browser session ends and its cookie is cleared."""
    token = request.cookies.get(cookies.COOKIE)
    if token and len(token) <= 512:
        await service.end_session(session, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.clear_refresh_cookie(response, request)
    return response


@users_router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUser) -> UserPublic:
    """The signed-in account."""
    return UserPublic.model_validate(user)


@users_router.patch("/me", response_model=UserPublic)
@requires_scope("keys")
async def update_me(
    data: UserUpdate, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> UserPublic:
    """Change your name, or your password (with `current_password`; every session ends,
    this one too). Wrong current passwords count against the login limit."""
    if data.password is not None:
        await runtime.rate_limiter.hit(
            runtime.settings.login_rate_limit,
            "login-email",
            user.email,
            message="Too many password attempts. Try again later.",
            exact=True,
        )
    return UserPublic.model_validate(await service.update_user(session, user, data))


@api_keys_router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
@requires_scope("keys")
async def create_api_key(
    data: ApiKeyCreate, user: CurrentUser, session: SessionDep
) -> ApiKeyCreated:
    """Create an API key for `X-API-Key` (or `Authorization: Bearer` on /openai). The key is
    returned once; only its hash is stored. `bot_ids` limits it to some bots and `scopes` to
    `read`, `write`, `chat` (left out: all bots; read, write and chat). Managing keys and the
    account takes the `keys` scope, which is only given when asked for."""
    api_key, key = await service.create_api_key(session, user, data)
    return ApiKeyCreated.model_validate(
        {**ApiKeyPublic.model_validate(api_key).model_dump(), "key": key}
    )


@api_keys_router.get("", response_model=Page[ApiKeyPublic])
@requires_scope("keys")
async def list_api_keys(
    user: CurrentUser, session: SessionDep, page: PageParamsDep
) -> Page[ApiKeyPublic]:
    """Your active API keys: prefix, scopes, bots and when each was last used."""
    items, total = await service.list_api_keys(session, user, page)
    return Page[ApiKeyPublic](
        items=[ApiKeyPublic.model_validate(k) for k in items], total=total, **page.model_dump()
    )


@api_keys_router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
@requires_scope("keys")
async def revoke_api_key(key_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    """Revoke an API key; it stops working at once."""
    await service.revoke_api_key(session, user, key_id)
