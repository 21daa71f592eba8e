"""Every limit refuses exactly at limit + 1 with 402; a downgrade deletes nothing."""

from __future__ import annotations

import time
import uuid

import pytest

from app.billing import service
from app.billing.exceptions import PlanLimitReached
from tests.billing.conftest import account_id, deliver, plan_of, subscribe
from tests.billing.helpers import add_document, documents_table
from tests.fakes.stripe import event, invoice

MB = 1024 * 1024
BOTS = "/api/v1/bots"


async def create_bot(client, headers, name="Support"):
    return await client.post(BOTS, json={"name": name}, headers=headers)


async def test_the_free_bot_limit_gives_402_at_the_second_bot(client, owner, stripe_settings):
    assert (await create_bot(client, owner)).status_code == 201
    r = await create_bot(client, owner)
    assert r.status_code == 402, r.text
    error = r.json()["error"]
    assert error["code"] == "plan_limit_reached"
    assert error["details"] == {"resource": "bots", "limit": 1, "used": 1, "plan": "free"}
    assert (await plan_of(client, owner))["usage"]["bots"] == {"used": 1, "limit": 1}


async def test_the_pro_bot_limit_counts_only_this_account(
    client, owner, make_user, stripe_settings
):
    stripe_settings.plan_limits = {"pro": {"bots": 3}}
    other = await make_user()
    assert (await create_bot(client, other)).status_code == 201
    await subscribe(client, owner)
    for i in range(3):
        assert (await create_bot(client, owner, f"Bot {i}")).status_code == 201
    r = await create_bot(client, owner)
    assert r.status_code == 402
    details = r.json()["error"]["details"]
    assert details == {"resource": "bots", "limit": 3, "used": 3, "plan": "pro"}


async def test_a_downgrade_deletes_nothing_and_refuses_only_new_bots(
    client, owner, stripe_settings
):
    sub = await subscribe(client, owner, created=int(time.time()) - 10)
    ids = [(await create_bot(client, owner, f"Bot {i}")).json()["id"] for i in range(3)]
    await deliver(client, event("customer.subscription.deleted", {**sub, "status": "canceled"}))
    assert (await plan_of(client, owner))["plan"] == "free"
    listed = (await client.get(BOTS, headers=owner)).json()
    assert listed["total"] == 3
    for bot_id in ids:
        assert (await client.get(f"{BOTS}/{bot_id}", headers=owner)).status_code == 200
    r = await create_bot(client, owner)
    assert r.status_code == 402
    assert r.json()["error"]["details"]["used"] == 3
    # Deleting down below the limit makes room again.
    for bot_id in ids:
        assert (await client.delete(f"{BOTS}/{bot_id}", headers=owner)).status_code == 204
    assert (await create_bot(client, owner)).status_code == 201


@pytest.fixture
async def owner_and_bot(client, owner, stripe_settings):
    bot = (await create_bot(client, owner)).json()
    return uuid.UUID(await account_id(client, owner)), bot["id"]


async def test_the_document_limit_gives_402_at_document_21(db, owner_and_bot, stripe_settings):
    documents_table()
    owner_id, bot_id = owner_and_bot
    for _ in range(19):
        await add_document(db, bot_id, 10)
    await service.ensure_can_add(
        db, owner_id, "documents", settings=stripe_settings, adding_bytes=10
    )
    await add_document(db, bot_id, 10)
    with pytest.raises(PlanLimitReached) as exc:
        await service.ensure_can_add(
            db, owner_id, "documents", settings=stripe_settings, adding_bytes=10
        )
    assert exc.value.status_code == 402
    assert exc.value.details == {"resource": "documents", "limit": 20, "used": 20, "plan": "free"}


async def test_the_storage_limit_gives_402_one_byte_past(db, owner_and_bot, stripe_settings):
    documents_table()
    owner_id, bot_id = owner_and_bot
    for _ in range(10):
        await add_document(db, bot_id, 5 * MB - 1)
    stored = 10 * (5 * MB - 1)
    room = 50 * MB - stored
    await service.check_document_upload(db, owner_id, room, settings=stripe_settings)
    with pytest.raises(PlanLimitReached) as exc:
        await service.check_document_upload(db, owner_id, room + 1, settings=stripe_settings)
    assert exc.value.details == {
        "resource": "storage_bytes",
        "limit": 50 * MB,
        "used": stored,
        "plan": "free",
    }


async def test_the_file_size_limit_gives_402_one_byte_past(db, owner_and_bot, stripe_settings):
    owner_id, _ = owner_and_bot
    await service.check_file_size(db, owner_id, 5 * MB, settings=stripe_settings)
    with pytest.raises(PlanLimitReached) as exc:
        await service.check_file_size(db, owner_id, 5 * MB + 1, settings=stripe_settings)
    assert exc.value.details == {
        "resource": "max_file_bytes",
        "limit": 5 * MB,
        "used": 5 * MB + 1,
        "plan": "free",
    }
    with pytest.raises(PlanLimitReached):
        await service.ensure_can_add(
            db, owner_id, "documents", settings=stripe_settings, adding_bytes=5 * MB + 1
        )


async def test_the_subscription_shows_document_usage(
    client, db, owner, owner_and_bot, stripe_settings
):
    documents_table()
    _, bot_id = owner_and_bot
    await add_document(db, bot_id, 1000)
    await add_document(db, bot_id, 24)
    await db.commit()  # the savepoint, so the request sees the rows
    usage = (await plan_of(client, owner))["usage"]
    assert usage["documents"] == {"used": 2, "limit": 20}
    assert usage["storage_bytes"] == {"used": 1024, "limit": 50 * MB}


async def message(db, owner_id, settings, tokens: int = 0) -> int:
    """What a chat turn does: check the quota first, count with the answer; returns used."""
    period = await service.check_message_quota(db, owner_id, settings=settings)
    await service.count_usage(db, owner_id, period, messages=1, tokens=tokens)
    return await service.messages_used(db, owner_id, period)


async def test_monthly_messages_give_402_at_limit_plus_one(client, db, owner, stripe_settings):
    stripe_settings.plan_limits = {"free": {"messages_per_month": 3}}
    owner_id = uuid.UUID(await account_id(client, owner))
    for n in range(1, 4):
        assert await message(db, owner_id, stripe_settings, tokens=10) == n
    with pytest.raises(PlanLimitReached) as exc:
        await message(db, owner_id, stripe_settings)
    assert exc.value.status_code == 402
    assert exc.value.details == {
        "resource": "messages_per_month",
        "limit": 3,
        "used": 3,
        "plan": "free",
    }
    await db.commit()
    assert (await plan_of(client, owner))["usage"]["messages"] == {"used": 3, "limit": 3}


async def test_messages_are_unlimited_without_stripe(db, client, owner, settings):
    owner_id = uuid.UUID(await account_id(client, owner))
    for _ in range(5):
        used = await message(db, owner_id, settings)
    assert used == 5


async def test_invoice_paid_starts_a_new_usage_period(client, db, owner, stripe_settings):
    stripe_settings.plan_limits = {"pro": {"messages_per_month": 2}}
    now = int(time.time())
    sub = await subscribe(client, owner, created=now - 100)
    owner_id = uuid.UUID(await account_id(client, owner))
    for _ in range(2):
        await message(db, owner_id, stripe_settings)
    with pytest.raises(PlanLimitReached):
        await message(db, owner_id, stripe_settings)
    await db.commit()
    renewal = invoice(sub["id"], customer=sub["customer"], period=(now - 60, now + 30 * 86400))
    assert (await deliver(client, event("invoice.paid", renewal, created=now))).status_code == 200
    state = await plan_of(client, owner)
    assert state["usage"]["messages"] == {"used": 0, "limit": 2}
    assert state["usage_period_start"] == state["current_period_start"]
    assert await message(db, owner_id, stripe_settings) == 1


async def test_checks_without_stripe_can_be_capped_by_settings(client, owner, settings):
    settings.plan_limits = {"self_hosted": {"bots": 1}}
    assert (await create_bot(client, owner)).status_code == 201
    r = await create_bot(client, owner)
    assert r.status_code == 402
    assert r.json()["error"]["details"]["plan"] == "self_hosted"
