"""Accounts, sessions (access + rotating refresh tokens) and API keys."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.bots.exceptions import BotNotFound
from app.bots.models import Bot
from app.core import security
from app.core.cache import forget_after_commit
from app.core.config import Settings
from app.core.db import utcnow
from app.core.pagination import PageParams, paginate
from app.users.exceptions import (
    ApiKeyNotFound,
    ApiKeyTooBroad,
    EmailTaken,
    InactiveUser,
    InvalidApiKey,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
)
from app.users.models import DEFAULT_SCOPES, ApiKey, ApiKeyGrant, Principal, RefreshToken, User
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
    # Hashed before anything is written: on SQLite the write lock waits for no argon2.
    password_hash = await security.hash_password(data.password)
    user = User(
        email=normalize_email(data.email), password_hash=password_hash, full_name=data.full_name
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken() from exc
    return user


async def update_user(session: AsyncSession, principal: Principal, data: UserUpdate) -> User:
    """Change the name or the password; a new password ends every session, this one too."""
    user = await session.get(User, principal.id, with_for_update=True)
    if user is None:
        raise InvalidToken()
    if data.full_name is not None:
        user.full_name = data.full_name
    if data.password is not None:
        if not await security.verify_password(data.current_password or "", user.password_hash):
            raise InvalidCredentials("current_password is incorrect.")
        user.password_hash = await security.hash_password(data.password)
        await revoke_all_sessions(session, user.id)
    await session.flush()
    forget_after_commit(session, principal_key(user.id))
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
    session: AsyncSession,
    user: User,
    *,
    settings: Settings,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    access, expires_in = security.create_access_token(
        user.id,
        settings.resolved_secret_key,
        settings.access_token_minutes,
        version=user.token_version,
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


async def rotate_refresh_token(
    session: AsyncSession, token: str, *, settings: Settings
) -> TokenPair:
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
    return await issue_tokens(session, user, settings=settings, family_id=row.family_id)


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    """A stolen refresh token was used: end its family, and every access token of the user
    (which of them the thief holds is unknown)."""
    revoked = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(RefreshToken.user_id)
    )
    for user_id in set(revoked.scalars()):
        await _end_access_tokens(session, user_id)


async def revoke_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await _end_access_tokens(session, user_id)


async def _end_access_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version + 1)
        .execution_options(synchronize_session="fetch")
    )
    forget_after_commit(session, principal_key(user_id))


# --- Who is asking ------------------------------------------------------------------------
# Callers may keep a Principal for a moment (`Runtime.cache`) under `principal_key`;
# the functions above forget it when they change what it says.


def principal_key(user_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    return ("principal", user_id)


def api_key_cache_key(key_hash: str) -> tuple[str, str]:
    return ("api-key", key_hash)


def access_token_claims(token: str, *, settings: Settings) -> tuple[uuid.UUID, int]:
    """The user id and token version of a valid access token, or 401."""
    try:
        return security.decode_access_token(token, settings.resolved_secret_key)
    except security.InvalidToken as exc:
        raise InvalidToken() from exc


async def load_principal(session: AsyncSession, user_id: uuid.UUID) -> Principal:
    user = await session.get(User, user_id)
    if user is None:
        raise InvalidToken()
    return Principal.of(user)


def check_principal(principal: Principal, token_version: int | None = None) -> Principal:
    """Refuse a deactivated account, or a token issued before its sessions were ended."""
    if token_version is not None and token_version != principal.token_version:
        raise InvalidToken()
    if not principal.is_active:
        raise InactiveUser()
    return principal


# --- API keys -----------------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession, user: Principal, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    scopes = sorted(set(data.scopes)) if data.scopes is not None else None
    bot_ids = await _own_bots(session, user, data.bot_ids)
    _no_wider_than_the_creator(user, scopes, bot_ids)
    key = security.new_secret(API_KEY_PREFIX)
    api_key = ApiKey(
        user_id=user.id,
        name=data.name,
        prefix=key[:10],
        key_hash=security.hash_secret(key),
        scopes=scopes,
        bot_ids=[str(b) for b in bot_ids] if bot_ids is not None else None,
    )
    session.add(api_key)
    await session.flush()
    return api_key, key


async def _own_bots(
    session: AsyncSession, user: Principal, bot_ids: list[uuid.UUID] | None
) -> list[uuid.UUID] | None:
    """The requested bots, each of them the user's (else 404, as for any other bot)."""
    if bot_ids is None:
        return None
    wanted = sorted(set(bot_ids))
    owned = set(
        await session.scalars(select(Bot.id).where(Bot.id.in_(wanted), Bot.owner_id == user.id))
    )
    if owned != set(wanted):
        raise BotNotFound(details={"bot_ids": [str(b) for b in wanted if b not in owned]})
    return wanted


def _no_wider_than_the_creator(
    user: Principal, scopes: list[str] | None, bot_ids: list[uuid.UUID] | None
) -> None:
    """A key that makes keys cannot make one that reaches further than itself."""
    grant = user.api_key
    if grant is None:
        return
    wanted_scopes = set(scopes) if scopes is not None else set(DEFAULT_SCOPES)
    wider_bots = grant.bot_ids is not None and (
        bot_ids is None or not set(bot_ids) <= grant.bot_ids
    )
    if not wanted_scopes <= grant.scopes or wider_bots:
        raise ApiKeyTooBroad()


async def list_api_keys(
    session: AsyncSession, user: Principal, params: PageParams
) -> tuple[list[ApiKey], int]:
    stmt = (
        select(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return await paginate(session, stmt, params)


async def revoke_api_key(session: AsyncSession, user: Principal, key_id: uuid.UUID) -> None:
    api_key = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)
        )
    )
    if api_key is None:
        raise ApiKeyNotFound()
    api_key.revoked_at = utcnow()
    await session.flush()
    forget_after_commit(session, api_key_cache_key(api_key.key_hash))


async def api_key_owner(session: AsyncSession, key: str) -> tuple[Principal, ApiKeyGrant]:
    """The owner of an active API key, with the key, in one query; or 401."""
    row = await session.execute(
        select(User, ApiKey)
        .join(ApiKey, ApiKey.user_id == User.id)
        .where(ApiKey.key_hash == security.hash_secret(key), ApiKey.revoked_at.is_(None))
    )
    found = row.one_or_none()
    if found is None:
        raise InvalidApiKey()
    user, api_key = found
    return Principal.of(user), ApiKeyGrant.of(api_key)


# `last_used_at` is for people ("used 3 minutes ago"): once a minute is precise enough.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def needs_touch(api_key: ApiKeyGrant) -> bool:
    last = api_key.last_used_at
    return last is None or utcnow() - last >= API_KEY_TOUCH_INTERVAL


async def touch_api_key(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Record a use, unless another request did within the interval (no write then)."""
    now = utcnow()
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at <= now - API_KEY_TOUCH_INTERVAL,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign out: the refresh token's family (this browser's session) ends. Other sessions,
    and API keys, are untouched."""
    family = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == security.hash_secret(token))
    )
    if family is not None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
