"""Plans, each account's subscription, usage against limits, and the checks other domains call.

"Account" is the user who owns bots. Without Stripe settings every account is on
`settings.default_plan` (`self_hosted`, unlimited); with them, accounts start on `free`
and only Stripe webhooks move them to a paid plan.

Limit checks on bots and documents are atomic: they lock the account's subscription row
(SELECT ... FOR UPDATE; on SQLite the same statement takes the database's write lock)
before counting, and the lock is held until the caller's transaction ends, after its insert.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.exceptions import PlanLimitReached, PlanNotFound
from app.billing.models import Plan, Subscription, UsageCounter
from app.billing.schemas import (
    LimitsPublic,
    PlanList,
    PlanPublic,
    SubscriptionPublic,
    UsageItem,
    UsagePublic,
)
from app.bots.models import Bot
from app.core.config import Settings
from app.core.db import per_dialect, upsert_insert, utcnow
from app.documents.models import Document

LIMIT_NAMES = ("bots", "documents", "storage_bytes", "messages_per_month", "max_file_bytes")
# Stripe statuses under which a paid plan is kept (past_due: Stripe is still retrying).
GRANTING_STATUSES = frozenset({"active", "trialing", "past_due"})
FREE_PLAN = "free"
PAID_PLANS = ("pro", "business")


@dataclass(frozen=True)
class Limits:
    """None means unlimited."""

    bots: int | None
    documents: int | None
    storage_bytes: int | None
    messages_per_month: int | None
    max_file_bytes: int | None


@dataclass(frozen=True)
class Account:
    plan: str
    limits: Limits
    subscription: Subscription | None  # None when billing is not configured


# --- Plans -----------------------------------------------------------------------------


def limits_of(plan: Plan, settings: Settings) -> Limits:
    values: dict[str, Any] = {name: getattr(plan, name) for name in LIMIT_NAMES}
    values.update(settings.plan_limits.get(plan.code, {}))
    return Limits(**values)


async def list_plans(session: AsyncSession) -> list[Plan]:
    return list(await session.scalars(select(Plan).order_by(Plan.sort_order, Plan.code)))


# Plans are seed data that only a migration changes: each process reads a plan once a minute.
_PLAN_TTL_SECONDS = 60.0
_plans: dict[str, tuple[float, Plan]] = {}


async def plan_limits(session: AsyncSession, code: str, *, settings: Settings) -> Limits:
    cached = _plans.get(code)
    if cached is None or time.monotonic() - cached[0] > _PLAN_TTL_SECONDS:
        plan = await session.get(Plan, code)
        if plan is None:  # e.g. a DEFAULT_PLAN that no migration seeded
            raise PlanNotFound(details={"plan": code})
        session.expunge(plan)
        cached = _plans[code] = (time.monotonic(), plan)
    return limits_of(cached[1], settings)


def price_for(settings: Settings, plan: str) -> str | None:
    return {"pro": settings.stripe_price_pro, "business": settings.stripe_price_business}.get(plan)


def plan_for_price(settings: Settings, price_id: str | None) -> str | None:
    return next((p for p in PAID_PLANS if price_id and price_for(settings, p) == price_id), None)


# --- Subscription rows -----------------------------------------------------------------


async def _subscription(
    session: AsyncSession, account_id: uuid.UUID, *, lock: bool
) -> Subscription:
    """The account's row. Locking creates it when missing; reading alone never writes, and
    stands in an unsaved row on the free plan for an account that never had one."""
    stmt = select(Subscription).where(Subscription.account_id == account_id)
    stmt = stmt.execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None and not lock:
        return Subscription(
            account_id=account_id, plan=FREE_PLAN, status="active", cancel_at_period_end=False
        )
    if row is None:
        insert = upsert_insert(session, Subscription).values(account_id=account_id)
        await session.execute(insert.on_conflict_do_nothing(index_elements=["account_id"]))
        row = await session.scalar(stmt)
    assert row is not None
    return row


async def lock_subscription(session: AsyncSession, account_id: uuid.UUID) -> Subscription:
    """The account's row, created on first use, locked until the transaction ends."""
    return await _subscription(session, account_id, lock=True)


async def get_account(
    session: AsyncSession, account_id: uuid.UUID, *, settings: Settings, lock: bool = False
) -> Account:
    if not settings.stripe_enabled:
        limits = await plan_limits(session, settings.default_plan, settings=settings)
        if lock and any(v is not None for v in vars(limits).values()):
            await lock_subscription(session, account_id)  # PLAN_LIMITS may cap self-hosted
        return Account(settings.default_plan, limits, None)
    sub = await _subscription(session, account_id, lock=lock)
    return Account(sub.plan, await plan_limits(session, sub.plan, settings=settings), sub)


# --- Usage -----------------------------------------------------------------------------


def usage_period(sub: Subscription | None, now: datetime) -> tuple[datetime, datetime]:
    """The paid period Stripe gave us while it runs; otherwise the calendar month (UTC)."""
    if sub and sub.current_period_start and sub.current_period_end:
        if sub.current_period_start <= now < sub.current_period_end:
            return sub.current_period_start, sub.current_period_end
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


async def count_bots(session: AsyncSession, owner_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).where(Bot.owner_id == owner_id)) or 0


async def document_usage(session: AsyncSession, owner_id: uuid.UUID) -> tuple[int, int]:
    """(documents, stored bytes) of every document in the owner's bots, whatever its status."""
    stmt = (
        select(func.count(), func.coalesce(func.sum(Document.size_bytes), 0))
        .select_from(Document)
        .join(Bot, Document.bot_id == Bot.id)
        .where(Bot.owner_id == owner_id)
    )
    count, size = (await session.execute(stmt)).one()
    return int(count), int(size)


async def messages_used(session: AsyncSession, owner_id: uuid.UUID, period_start: datetime) -> int:
    used = await session.scalar(
        select(UsageCounter.messages).where(
            UsageCounter.account_id == owner_id, UsageCounter.period_start == period_start
        )
    )
    return used or 0


# --- Checks other domains call ---------------------------------------------------------


def _check(account: Account, resource: str, limit: int | None, used: int, adding: int) -> None:
    if limit is not None and used + adding > limit:
        raise PlanLimitReached(resource, limit=limit, used=used, plan=account.plan)


async def ensure_can_add(
    session: AsyncSession,
    owner_id: uuid.UUID,
    resource: Literal["bots", "documents"],
    *,
    settings: Settings,
    adding_bytes: int = 0,
) -> None:
    """Refuse (402) one more bot, or one more document of `adding_bytes`, past the plan.

    Call it in the transaction that inserts the resource, before the insert: the row lock
    taken here is held until that transaction ends, so concurrent adds never overshoot.
    """
    account = await get_account(session, owner_id, settings=settings, lock=True)
    if resource == "bots":
        _check(account, "bots", account.limits.bots, await count_bots(session, owner_id), 1)
        return
    _check(account, "max_file_bytes", account.limits.max_file_bytes, adding_bytes, 0)
    count, stored = await document_usage(session, owner_id)
    _check(account, "documents", account.limits.documents, count, 1)
    _check(account, "storage_bytes", account.limits.storage_bytes, stored, adding_bytes)


async def check_document_upload(
    session: AsyncSession, owner_id: uuid.UUID, size_bytes: int, *, settings: Settings
) -> None:
    """Documents' entry point: file size, document count and storage, atomically (402)."""
    await ensure_can_add(session, owner_id, "documents", settings=settings, adding_bytes=size_bytes)


async def check_file_size(
    session: AsyncSession, owner_id: uuid.UUID, size_bytes: int, *, settings: Settings
) -> None:
    """Early, lock-free refusal (402) of a file bigger than the plan allows per file."""
    account = await get_account(session, owner_id, settings=settings)
    _check(account, "max_file_bytes", account.limits.max_file_bytes, size_bytes, 0)


async def check_message_quota(
    session: AsyncSession, owner_id: uuid.UUID, *, settings: Settings
) -> datetime:
    """Refuse (402) a message past the period's quota, without counting it; returns the
    start of the usage period the message will count in (see `count_usage`).

    A chat turn checks here, before generation, and counts with the answer: turns already
    in flight at the very edge of the quota can take it past by their number.
    """
    account = await get_account(session, owner_id, settings=settings)
    start, _ = usage_period(account.subscription, utcnow())
    limit = account.limits.messages_per_month
    if limit is not None:
        used = await messages_used(session, owner_id, start)
        if used >= limit:
            raise PlanLimitReached("messages_per_month", limit=limit, used=used, plan=account.plan)
    return start


@per_dialect
def _count_usage(insert: Callable[[Any], Any]) -> Any:
    table = UsageCounter.__table__
    stmt = insert(table).values(
        account_id=bindparam("account_id"),
        period_start=bindparam("period_start"),
        messages=bindparam("messages"),
        tokens=bindparam("tokens"),
    )
    return stmt.on_conflict_do_update(
        index_elements=[table.c.account_id, table.c.period_start],
        set_={
            "messages": table.c.messages + stmt.excluded.messages,
            "tokens": table.c.tokens + stmt.excluded.tokens,
        },
    )


async def count_usage(
    session: AsyncSession,
    owner_id: uuid.UUID,
    period_start: datetime,
    *,
    messages: int = 0,
    tokens: int = 0,
) -> None:
    """Add to the account's counters for the period, in one atomic upsert."""
    values = {
        "account_id": owner_id,
        "period_start": period_start,
        "messages": messages,
        "tokens": tokens,
    }
    await session.execute(_count_usage(session), values)


# --- What the owner sees ---------------------------------------------------------------


async def list_plan_views(session: AsyncSession, *, settings: Settings) -> PlanList:
    items = [
        PlanPublic(
            code=plan.code,
            name=plan.name,
            limits=LimitsPublic.model_validate(limits_of(plan, settings)),
            purchasable=settings.stripe_enabled and price_for(settings, plan.code) is not None,
        )
        for plan in await list_plans(session)
    ]
    return PlanList(items=items, billing_configured=settings.stripe_enabled)


async def overview(
    session: AsyncSession, owner_id: uuid.UUID, *, settings: Settings
) -> SubscriptionPublic:
    account = await get_account(session, owner_id, settings=settings)
    sub = account.subscription
    start, end = usage_period(sub, utcnow())
    documents, stored = await document_usage(session, owner_id)
    limits = account.limits
    usage = UsagePublic(
        bots=UsageItem(used=await count_bots(session, owner_id), limit=limits.bots),
        documents=UsageItem(used=documents, limit=limits.documents),
        storage_bytes=UsageItem(used=stored, limit=limits.storage_bytes),
        messages=UsageItem(
            used=await messages_used(session, owner_id, start), limit=limits.messages_per_month
        ),
    )
    return SubscriptionPublic(
        plan=account.plan,
        status=sub.status if sub else "active",  # type: ignore[arg-type]
        billing_configured=settings.stripe_enabled,
        cancel_at_period_end=sub.cancel_at_period_end if sub else False,
        current_period_start=sub.current_period_start if sub else None,
        current_period_end=sub.current_period_end if sub else None,
        usage_period_start=start,
        usage_period_end=end,
        stripe_customer_id=sub.stripe_customer_id if sub else None,
        stripe_subscription_id=sub.stripe_subscription_id if sub else None,
        stripe_state_at=sub.stripe_state_at if sub else None,
        limits=LimitsPublic.model_validate(limits),
        usage=usage,
    )
