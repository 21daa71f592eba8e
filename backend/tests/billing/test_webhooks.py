"""Webhooks: verified on the raw body, applied once, and never undone by an older event."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from app.billing.models import StripeEvent
from tests.billing.conftest import (
    BILLING,
    PRICE_BUSINESS,
    PRICE_PRO,
    WEBHOOK_SECRET,
    account_id,
    deliver,
    plan_of,
    subscribe,
)
from tests.fakes.stripe import checkout_completed, event, invoice, signed, subscription

HOUR = 3600


async def test_subscription_created_moves_the_account_to_pro(client, owner, stripe_settings):
    sub = await subscribe(client, owner, created=1_900_000_000)
    state = await plan_of(client, owner)
    assert state["plan"] == "pro" and state["status"] == "active"
    assert state["stripe_subscription_id"] == sub["id"]
    assert state["stripe_customer_id"] == sub["customer"]
    assert state["current_period_end"] is not None
    assert state["stripe_state_at"].startswith("2030-03-17T17:46:40")
    assert state["usage"]["bots"]["limit"] == 10


async def test_deleted_moves_the_account_back_to_free(client, owner, stripe_settings):
    sub = await subscribe(client, owner, price=PRICE_BUSINESS)
    assert (await plan_of(client, owner))["plan"] == "business"
    r = await deliver(
        client,
        event(
            "customer.subscription.deleted",
            {**sub, "status": "canceled"},
            created=int(time.time()) + 5,
        ),
    )
    assert r.status_code == 200 and r.json() == {"received": True, "duplicate": False}
    state = await plan_of(client, owner)
    assert state["plan"] == "free" and state["status"] == "canceled"
    assert state["current_period_end"] is None


async def test_missing_bad_or_stale_signatures_are_refused(client, owner, stripe_settings, db):
    sub = subscription(
        "sub_sig", customer="cus_sig", price=PRICE_PRO, account_id=await account_id(client, owner)
    )
    payload = event("customer.subscription.created", sub)
    body, _ = signed(payload, WEBHOOK_SECRET)
    unsigned = await client.post(f"{BILLING}/webhook", content=body)
    bad = await deliver(client, payload, secret="whsec_someone_else")
    stale = await deliver(client, payload, timestamp=int(time.time()) - 301)
    tampered_body, headers = signed(payload, WEBHOOK_SECRET)
    tampered = await client.post(
        f"{BILLING}/webhook",
        headers=headers,
        content=tampered_body.replace(PRICE_PRO, "price_other"),
    )
    for r in (unsigned, bad, stale, tampered):
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_signature"
    assert (await plan_of(client, owner))["plan"] == "free"
    assert await db.scalar(select(func.count()).select_from(StripeEvent)) == 0
    # Nothing was recorded, so Stripe's retry with a good signature still applies.
    assert (await deliver(client, payload)).status_code == 200
    assert (await plan_of(client, owner))["plan"] == "pro"


async def test_a_signed_body_that_is_not_an_event_is_400(client, stripe_settings):
    body, headers = signed("not json", WEBHOOK_SECRET)
    r = await client.post(f"{BILLING}/webhook", content=body, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_payload"


async def test_a_replay_answers_2xx_and_changes_nothing(client, owner, stripe_settings, db):
    now = int(time.time())
    sub = subscription(
        "sub_replay",
        customer="cus_replay",
        price=PRICE_PRO,
        account_id=await account_id(client, owner),
    )
    created = event("customer.subscription.created", sub, created=now - 10)
    assert (await deliver(client, created)).json()["duplicate"] is False
    deleted = event("customer.subscription.deleted", {**sub, "status": "canceled"}, created=now)
    assert (await deliver(client, deleted)).status_code == 200
    replay = await deliver(client, created)
    assert replay.status_code == 200 and replay.json() == {"received": True, "duplicate": True}
    assert (await plan_of(client, owner))["plan"] == "free"
    count = select(func.count()).select_from(StripeEvent).where(StripeEvent.id == created["id"])
    assert await db.scalar(count) == 1


async def test_an_older_updated_after_a_newer_one_changes_nothing(client, owner, stripe_settings):
    now = int(time.time())
    sub = subscription(
        "sub_order",
        customer="cus_order",
        price=PRICE_PRO,
        account_id=await account_id(client, owner),
    )
    await deliver(client, event("customer.subscription.created", sub, created=now - 100))
    upgrade = subscription(
        "sub_order",
        customer="cus_order",
        price=PRICE_BUSINESS,
        account_id=sub["metadata"]["account_id"],
    )
    assert (
        await deliver(client, event("customer.subscription.updated", upgrade, created=now))
    ).status_code == 200
    older = {**sub, "cancel_at_period_end": True}
    r = await deliver(client, event("customer.subscription.updated", older, created=now - 50))
    assert r.status_code == 200 and r.json()["duplicate"] is False
    state = await plan_of(client, owner)
    assert state["plan"] == "business" and state["cancel_at_period_end"] is False


async def test_a_late_updated_after_deleted_does_not_resurrect_pro(client, owner, stripe_settings):
    now = int(time.time())
    sub = await subscribe(client, owner, created=now - 100)
    canceled = {**sub, "status": "canceled"}
    await deliver(client, event("customer.subscription.deleted", canceled, created=now))
    await deliver(client, event("customer.subscription.updated", sub, created=now - 50))
    # Even in the same second: a canceled Stripe subscription cannot come back.
    await deliver(client, event("customer.subscription.updated", sub, created=now))
    state = await plan_of(client, owner)
    assert state["plan"] == "free" and state["status"] == "canceled"


async def test_a_late_incomplete_created_does_not_undo_the_payment(client, owner, stripe_settings):
    now = int(time.time())
    sub = subscription(
        "sub_3ds", customer="cus_3ds", price=PRICE_PRO, account_id=await account_id(client, owner)
    )
    await deliver(client, event("customer.subscription.updated", sub, created=now))
    incomplete = {**sub, "status": "incomplete"}
    await deliver(client, event("customer.subscription.created", incomplete, created=now))
    state = await plan_of(client, owner)
    assert state["plan"] == "pro" and state["status"] == "active"


async def test_a_new_subscription_after_cancellation_applies(client, owner, stripe_settings):
    now = int(time.time())
    old = await subscribe(client, owner, created=now - 100)
    await deliver(
        client,
        event("customer.subscription.deleted", {**old, "status": "canceled"}, created=now - 50),
    )
    new = subscription(
        "sub_second",
        customer=old["customer"],
        price=PRICE_PRO,
        account_id=old["metadata"]["account_id"],
    )
    await deliver(client, event("customer.subscription.created", new, created=now))
    state = await plan_of(client, owner)
    assert state["plan"] == "pro" and state["stripe_subscription_id"] == "sub_second"


async def test_unknown_event_types_are_acknowledged_and_ignored(client, owner, stripe_settings):
    r = await deliver(client, event("customer.created", {"id": "cus_x", "object": "customer"}))
    assert r.status_code == 200 and r.json()["duplicate"] is False
    assert (await plan_of(client, owner))["plan"] == "free"


async def test_events_for_unknown_accounts_are_acknowledged(client, stripe_settings):
    sub = subscription("sub_nobody", customer="cus_nobody", price=PRICE_PRO)
    r = await deliver(client, event("customer.subscription.created", sub))
    assert r.status_code == 200


async def test_no_paid_plan_for_an_unpaid_or_unknown_subscription(
    client, owner, make_user, stripe_settings
):
    await subscribe(client, owner, status="incomplete")
    state = await plan_of(client, owner)
    assert state["plan"] == "free" and state["status"] == "incomplete"
    other = await make_user()
    await subscribe(client, other, price="price_nobody_configured")
    assert (await plan_of(client, other))["plan"] == "free"


async def test_checkout_completed_links_the_customer(client, owner, stripe_settings):
    session = checkout_completed(
        customer="cus_from_checkout",
        sub_id="sub_checkout",
        account_id=await account_id(client, owner),
    )
    assert (await deliver(client, event("checkout.session.completed", session))).status_code == 200
    state = await plan_of(client, owner)
    assert state["stripe_customer_id"] == "cus_from_checkout"
    assert state["plan"] == "free"  # the plan follows the subscription's own events
    # A subscription event that names only the customer now finds the account.
    sub = subscription("sub_checkout", customer="cus_from_checkout", price=PRICE_PRO)
    await deliver(client, event("customer.subscription.created", sub))
    assert (await plan_of(client, owner))["plan"] == "pro"


async def test_payment_failed_is_past_due_and_paid_again_is_active(client, owner, stripe_settings):
    now = int(time.time())
    sub = await subscribe(client, owner, created=now - 100)
    period = (now - HOUR, now + 30 * 24 * HOUR)
    failed = invoice(sub["id"], customer=sub["customer"], period=period)
    await deliver(client, event("invoice.payment_failed", failed, created=now - 50))
    state = await plan_of(client, owner)
    assert state["status"] == "past_due" and state["plan"] == "pro"  # Stripe is retrying
    await deliver(client, event("invoice.paid", failed, created=now))
    assert (await plan_of(client, owner))["status"] == "active"


async def test_an_old_payment_failure_after_newer_state_changes_nothing(
    client, owner, stripe_settings
):
    now = int(time.time())
    sub = await subscribe(client, owner, created=now)
    failed = invoice(sub["id"], customer=sub["customer"], period=(now - HOUR, now + HOUR))
    await deliver(client, event("invoice.payment_failed", failed, created=now - 100))
    assert (await plan_of(client, owner))["status"] == "active"
