"""Plans (limits as data), one subscription per account, usage counters, processed Stripe events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, TimestampMixin, utcnow


class Plan(Base):
    """A plan's limits, NULL = unlimited. Seeded by the migration, overridable by PLAN_LIMITS."""

    __tablename__ = "plans"
    # Seed data from the migration: test clean-up keeps it.
    __table_args__ = {"info": {"seed_data": True}}

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(default=0)
    bots: Mapped[int | None]
    documents: Mapped[int | None]
    storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    messages_per_month: Mapped[int | None]
    max_file_bytes: Mapped[int | None] = mapped_column(BigInteger)


class Subscription(IdMixin, TimestampMixin, Base):
    """An account's billing state. The row is also the lock that makes limit checks atomic."""

    __tablename__ = "subscriptions"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    plan: Mapped[str] = mapped_column(ForeignKey("plans.code"), default="free")
    status: Mapped[str] = mapped_column(String(16), default="active")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    # `created` of the newest Stripe event applied; older events change nothing.
    stripe_state_at: Mapped[datetime | None]


class UsageCounter(Base):
    """Messages and tokens of one account in one usage period, incremented atomically."""

    __tablename__ = "usage_counters"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    messages: Mapped[int] = mapped_column(default=0)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)


class StripeEvent(Base):
    """Each webhook event applied once: the primary key turns a replay into a no-op."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
