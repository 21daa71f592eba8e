"""Stripe webhooks: verified, recorded once together with their effect, applied only when newer.

Order safety: subscription events carry the subscription's whole state; the `created` time
of the newest one applied is kept in `stripe_state_at`, and an older event changes nothing.
A canceled subscription never comes back (Stripe cannot revive one), so a late `updated`
cannot resurrect a paid plan after `deleted`, even within the same second; likewise a
late `created` saying `incomplete` cannot undo the payment that made it active. Invoice events
only adjust the status and the usage period, never the plan, and never advance the stamp,
so they cannot hide a subscription event from us.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.exceptions import InvalidPayload
from app.billing.models import StripeEvent, Subscription
from app.billing.service import (
    FREE_PLAN,
    GRANTING_STATUSES,
    lock_subscription,
    plan_for_price,
)
from app.billing.stripe_service import construct_event
from app.core.config import Settings
from app.core.db import upsert_insert, utcnow
from app.core.logging import get_logger
from app.users.models import User

log = get_logger(__name__)
Obj = dict[str, Any]
Handler = Callable[[AsyncSession, Settings, Obj, datetime], Awaitable[None]]

# Stripe's subscription statuses, in the five this API shows.
STATUSES = {
    "active": "active",
    "trialing": "trialing",
    "past_due": "past_due",
    "unpaid": "past_due",
    "canceled": "canceled",
    "incomplete": "incomplete",
    "incomplete_expired": "canceled",
    "paused": "canceled",
}


async def handle(
    session: AsyncSession, payload: bytes, signature: str | None, *, settings: Settings
) -> bool:
    """Verify and apply one webhook. False when it was already processed (a replay).

    A body Stripe signed but that is not an event of the expected shape is a 400 (and rolls
    back): a 500 would have Stripe retry it for days.
    """
    try:
        event = _Event.model_validate(construct_event(settings, payload, signature))
    except ValidationError as exc:
        raise InvalidPayload(
            details={"errors": exc.errors(include_url=False, include_input=False)}
        ) from exc
    try:
        return await _apply_event(session, settings, event)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        log.warning("stripe_event_malformed", event_id=event.id, type=event.type, error=repr(exc))
        raise InvalidPayload("The event's object is not of the shape its type has.") from exc


class _EventData(BaseModel):
    object: dict[str, Any]


class _Event(BaseModel):
    """The envelope of a Stripe event; the object inside is read defensively."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    created: Annotated[int, Field(strict=True, ge=0, le=4_102_444_800)]  # before 2100
    data: _EventData


async def _apply_event(session: AsyncSession, settings: Settings, envelope: _Event) -> bool:
    event = {"id": envelope.id, "type": envelope.type}
    created = _time(envelope.created)
    if not await _record_once(session, event, created):
        log.info("stripe_event_replayed", event_id=event["id"], type=event["type"])
        return False
    handler = HANDLERS.get(event["type"])
    if handler is None:
        log.info("stripe_event_ignored", event_id=event["id"], type=event["type"])
        return True
    await handler(session, settings, envelope.data.object, created)
    await session.flush()
    return True


async def _record_once(session: AsyncSession, event: Obj, created: datetime) -> bool:
    # Same transaction as the effect: either both are stored, or neither and Stripe retries.
    insert = upsert_insert(session, StripeEvent).values(
        id=event["id"], type=event["type"], created=created, received_at=utcnow()
    )
    stmt = insert.on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id)
    return (await session.execute(stmt)).first() is not None


# --- Finding the account ---------------------------------------------------------------


async def _locked_row(
    session: AsyncSession,
    *,
    subscription_id: str | None = None,
    customer_id: str | None = None,
    account_id: str | None = None,
) -> Subscription | None:
    for column, value in (
        (Subscription.stripe_subscription_id, subscription_id),
        (Subscription.stripe_customer_id, customer_id),
    ):
        if value:
            stmt = select(Subscription).where(column == value).with_for_update()
            row = await session.scalar(stmt.execution_options(populate_existing=True))
            if row is not None:
                return row
    uid = _uuid(account_id)
    if uid is not None and await session.get(User, uid) is not None:
        return await lock_subscription(session, uid)
    return None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _is_stale(row: Subscription, created: datetime) -> bool:
    return row.stripe_state_at is not None and created < row.stripe_state_at


# --- Subscriptions ---------------------------------------------------------------------


async def _on_subscription(
    session: AsyncSession, settings: Settings, obj: Obj, created: datetime, *, deleted: bool = False
) -> None:
    metadata = obj.get("metadata") or {}
    if not isinstance(obj["id"], str):
        raise ValueError("the subscription id is not a string")
    _items(obj)  # its shape is checked before anything changes
    row = await _locked_row(
        session,
        subscription_id=obj["id"],
        customer_id=obj.get("customer"),
        account_id=metadata.get("account_id"),
    )
    if row is None:
        log.warning("stripe_subscription_unknown_account", subscription=obj["id"])
        return
    if _is_stale(row, created) or not _concerns(row, obj, deleted):
        log.info("stripe_event_outdated", subscription=obj["id"])
        return
    _apply(row, settings, obj, created, deleted)


def _concerns(row: Subscription, obj: Obj, deleted: bool) -> bool:
    if row.stripe_subscription_id == obj["id"]:
        # Stripe never revives a canceled subscription, nor returns one to incomplete:
        # this settles events of the same second whatever their delivery order.
        if row.status == "canceled":
            return False
        return obj.get("status") != "incomplete" or row.status == "incomplete"
    live = row.stripe_subscription_id is not None and row.status in GRANTING_STATUSES
    # Another subscription's news replaces the live one only when it grants a plan itself.
    return not live or (not deleted and obj.get("status") in GRANTING_STATUSES)


def _apply(
    row: Subscription, settings: Settings, obj: Obj, created: datetime, deleted: bool
) -> None:
    raw_status = "canceled" if deleted else str(obj.get("status"))
    price_id = _price_id(obj)
    plan = plan_for_price(settings, price_id) if raw_status in GRANTING_STATUSES else None
    if raw_status in GRANTING_STATUSES and plan is None:
        # Never give a paid plan for a price we do not know.
        log.warning("stripe_unknown_price", price=price_id, subscription=obj["id"])
    same = row.stripe_subscription_id == obj["id"]
    row.status = STATUSES.get(raw_status, "incomplete")
    row.plan = plan or FREE_PLAN
    row.stripe_subscription_id = obj["id"]
    row.stripe_customer_id = row.stripe_customer_id or obj.get("customer")
    row.cancel_at_period_end = bool(obj.get("cancel_at_period_end")) and not deleted
    row.stripe_state_at = created
    if deleted:  # back on free: usage periods are calendar months again
        row.current_period_start = row.current_period_end = None
    else:
        _set_period(row, *_subscription_period(obj), only_forward=same)


def _set_period(
    row: Subscription, start: datetime | None, end: datetime | None, *, only_forward: bool
) -> None:
    if start is None or end is None:
        return
    if only_forward and row.current_period_start and start < row.current_period_start:
        return
    row.current_period_start, row.current_period_end = start, end


def _items(obj: Obj) -> list[Obj]:
    items = (obj.get("items") or {}).get("data")
    if items is None:
        return [{}]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("items.data is not a list of objects")
    return items or [{}]


def _price_id(obj: Obj) -> str | None:
    price = _items(obj)[0].get("price") or {}
    return price.get("id") if isinstance(price, dict) else str(price)


def _subscription_period(obj: Obj) -> tuple[datetime | None, datetime | None]:
    # Newer API versions keep the period on the subscription item.
    item = _items(obj)[0]
    start = obj.get("current_period_start") or item.get("current_period_start")
    end = obj.get("current_period_end") or item.get("current_period_end")
    return _time(start), _time(end)


# --- Checkout and invoices -------------------------------------------------------------


async def _on_checkout_completed(
    session: AsyncSession, settings: Settings, obj: Obj, created: datetime
) -> None:
    """Link the Stripe customer to the account; the plan follows the subscription events."""
    if obj.get("mode") != "subscription":
        return
    row = await _locked_row(
        session, customer_id=obj.get("customer"), account_id=obj.get("client_reference_id")
    )
    if row is None:
        log.warning("stripe_checkout_unknown_account", session=obj.get("id"))
        return
    if row.stripe_customer_id is None and obj.get("customer"):
        row.stripe_customer_id = obj["customer"]


async def _on_invoice(
    session: AsyncSession, settings: Settings, obj: Obj, created: datetime, *, paid: bool
) -> None:
    subscription_id = _invoice_subscription(obj)
    if not subscription_id:
        return
    row = await _locked_row(session, subscription_id=subscription_id)
    if row is None or _is_stale(row, created) or row.status == "canceled":
        return
    if not paid:
        if row.status in ("active", "trialing"):
            row.status = "past_due"  # the plan stays while Stripe retries the payment
        return
    _set_period(row, *_invoice_period(obj), only_forward=True)  # a new usage period starts
    if row.status == "past_due":
        row.status = "active"


def _invoice_subscription(obj: Obj) -> str | None:
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    value = obj.get("subscription") or details.get("subscription")
    return value.get("id") if isinstance(value, dict) else value


def _invoice_period(obj: Obj) -> tuple[datetime | None, datetime | None]:
    # The line's period is the one paid for; the invoice's own period is the previous one.
    lines = (obj.get("lines") or {}).get("data") or [{}]
    period = lines[0].get("period") or {}
    return _time(period.get("start")), _time(period.get("end"))


def _time(value: Any) -> Any:
    return datetime.fromtimestamp(int(value), UTC) if value else None


async def _on_invoice_paid(
    session: AsyncSession, settings: Settings, obj: Obj, created: datetime
) -> None:
    await _on_invoice(session, settings, obj, created, paid=True)


async def _on_invoice_failed(
    session: AsyncSession, settings: Settings, obj: Obj, created: datetime
) -> None:
    await _on_invoice(session, settings, obj, created, paid=False)


async def _on_subscription_deleted(
    session: AsyncSession, settings: Settings, obj: Obj, created: datetime
) -> None:
    await _on_subscription(session, settings, obj, created, deleted=True)


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription_deleted,
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_failed,
}
