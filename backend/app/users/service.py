"""Accounts, sessions (access + rotating refresh tokens) and API keys."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import security
from app.core.config import Settings
from app.core.db import utcnow
from app.core.pagination import PageParams, paginate
from app.users.exceptions import (
    ApiKeyNotFound,
    EmailTaken,
    InactiveUser,
    InvalidApiKey,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
)
from app.users.models import ApiKey, RefreshToken, User
from app.users.schemas import ApiKeyCreate, TokenPair, UserCreate, UserUpdate

API_KEY_PREFIX = "cs"
REFRESH_PREFIX = "rt"


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def register(session: AsyncSession, data: UserCreate) -> User:
    if await get_by_email(session, data.email):
        raise EmailTaken()
    user = User(
        email=normalize_email(data.email),
        password_hash=await security.hash_password(data.password),
        full_name=data.full_name,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken() from exc
    return user


async def update_user(session: AsyncSession, user: User, data: UserUpdate) -> User:
    if data.full_name is not None:
        user.full_name = data.full_name
    if data.password is not None:
        if not await security.verify_password(data.current_password or "", user.password_hash):
            raise InvalidCredentials("current_password is incorrect.")
        user.password_hash = await security.hash_password(data.password)
        await revoke_all_sessions(session, user.id)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await get_by_email(session, email)
    if not await security.verify_password(password, user.password_hash if user else None):
        raise InvalidCredentials()
    assert user is not None
    if not user.is_active:
        raise InactiveUser()
    return user


async def issue_tokens(
    session: AsyncSession, user: User, settings: Settings, family_id: uuid.UUID | None = None
) -> TokenPair:
    access, expires_in = security.create_access_token(
        user.id, settings.resolved_secret_key, settings.access_token_minutes
    )
    refresh = security.new_secret(REFRESH_PREFIX)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=security.hash_secret(refresh),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=expires_in)


async def rotate_refresh_token(session: AsyncSession, token: str, settings: Settings) -> TokenPair:
    """Trade a refresh token for a new pair. A second use revokes the whole family."""
    token_hash = security.hash_secret(token)
    now = utcnow()
    # Atomic claim: of two concurrent uses, exactly one gets the row.
    claimed = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == token_hash,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(RefreshToken.user_id, RefreshToken.family_id)
    )
    row = claimed.first()
    if row is None:
        existing = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )
        if existing is not None and (existing.used_at or existing.revoked_at):
            await _revoke_family(session, existing.family_id)
            raise RefreshTokenReused()
        raise InvalidToken("The refresh token is invalid or has expired.")
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise InactiveUser()
    return await issue_tokens(session, user, settings, family_id=row.family_id)


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def user_from_access_token(session: AsyncSession, token: str, settings: Settings) -> User:
    try:
        user_id = security.decode_access_token(token, settings.resolved_secret_key)
    except security.InvalidToken as exc:
        raise InvalidToken() from exc
    user = await session.get(User, user_id)
    if user is None:
        raise InvalidToken()
    if not user.is_active:
        raise InactiveUser()
    return user


# --- API keys -----------------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession, user: User, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    key = security.new_secret(API_KEY_PREFIX)
    api_key = ApiKey(
        user_id=user.id, name=data.name, prefix=key[:10], key_hash=security.hash_secret(key)
    )
    session.add(api_key)
    await session.flush()
    return api_key, key


async def list_api_keys(
    session: AsyncSession, user: User, params: PageParams
) -> tuple[list[ApiKey], int]:
    stmt = (
        select(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return await paginate(session, stmt, params)


async def revoke_api_key(session: AsyncSession, user: User, key_id: uuid.UUID) -> None:
    api_key = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)
        )
    )
    if api_key is None:
        raise ApiKeyNotFound()
    api_key.revoked_at = utcnow()
    await session.flush()


async def user_from_api_key(session: AsyncSession, key: str) -> User:
    api_key = await session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == security.hash_secret(key), ApiKey.revoked_at.is_(None)
        )
    )
    if api_key is None:
        raise InvalidApiKey()
    user = await session.get(User, api_key.user_id)
    if user is None or not user.is_active:
        raise InactiveUser()
    api_key.last_used_at = utcnow()
    return user
