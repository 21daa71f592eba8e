from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String
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
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a snapshot of the account, shared across requests for a moment
    (`Runtime.cache`), so it is immutable. Services that change the account reload its row."""

    id: uuid.UUID
    email: str
    full_name: str
    is_active: bool
    token_version: int
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(
            user.id, user.email, user.full_name, user.is_active, user.token_version, user.created_at
        )


@dataclass(frozen=True, slots=True)
class ApiKeyGrant:
    """The API key a request came with (None for a bearer token)."""

    id: uuid.UUID
    key_hash: str
    last_used_at: datetime | None
