from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, TimestampMixin, utcnow


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    # Stored lower-cased, so the unique constraint is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Access tokens carry it; bumping it (password change, a reused refresh token) ends
    # every access token issued before.
    token_version: Mapped[int] = mapped_column(default=0)


class RefreshToken(IdMixin, Base):
    """One link of a rotating refresh-token chain; every rotation stays in its family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # NULL: every scope but `keys` / every bot of the owner (keys made before scoping).
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    bot_ids: Mapped[list[str] | None] = mapped_column(JSON)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# What an API key may do. `keys` (manage API keys and the account) is never implied.
SCOPES = ("read", "write", "chat", "keys")
DEFAULT_SCOPES = frozenset({"read", "write", "chat"})


@dataclass(frozen=True, slots=True)
class ApiKeyGrant:
    """The API key a request came with, and what it allows."""

    id: uuid.UUID
    key_hash: str
    last_used_at: datetime | None
    scopes: frozenset[str] = DEFAULT_SCOPES
    bot_ids: frozenset[uuid.UUID] | None = None  # None: every bot of the owner

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyGrant:
        return cls(
            key.id,
            key.key_hash,
            key.last_used_at,
            frozenset(key.scopes) if key.scopes is not None else DEFAULT_SCOPES,
            frozenset(uuid.UUID(b) for b in key.bot_ids) if key.bot_ids is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a snapshot of the account (and of the API key it used),
    shared across requests for a moment (`Runtime.cache`), so it is immutable. Services that
    change the account reload its row."""

    id: uuid.UUID
    email: str
    full_name: str
    is_active: bool
    token_version: int
    created_at: datetime
    api_key: ApiKeyGrant | None = None

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(
            user.id, user.email, user.full_name, user.is_active, user.token_version, user.created_at
        )

    def may(self, scope: str) -> bool:
        """A bearer token (the owner in person) may do everything; a key what it was given."""
        return self.api_key is None or scope in self.api_key.scopes

    @property
    def bot_ids(self) -> frozenset[uuid.UUID] | None:
        """The bots this request may reach, or None for all of the owner's."""
        return self.api_key.bot_ids if self.api_key else None

    def can_use_bot(self, bot_id: uuid.UUID) -> bool:
        return self.bot_ids is None or bot_id in self.bot_ids
