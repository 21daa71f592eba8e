"""50 concurrent requests at the edge of a limit never overshoot it, and concurrent counts are
never lost (committed mode: real races)."""

from __future__ import annotations

import asyncio
import uuid

from app.billing import service
from app.billing.exceptions import PlanLimitReached
from tests.billing.conftest import account_id
from tests.billing.helpers import add_document, documents_table

BOTS = "/api/v1/bots"
N = 50


async def _create_bots(client, headers, n):
    requests = (client.post(BOTS, json={"name": f"Race {i}"}, headers=headers) for i in range(n))
    return [r.status_code for r in await asyncio.gather(*requests)]


async def test_a_new_account_racing_for_its_one_free_bot(
    live_client, make_live_user, stripe_settings
):
    owner = await make_live_user()  # no subscription row yet: the first requests race for it
    codes = await _create_bots(live_client, owner, N)
    assert codes.count(201) == 1 and codes.count(402) == N - 1
    assert (await live_client.get(BOTS, headers=owner)).json()["total"] == 1


async def test_bots_at_the_edge_of_the_limit(live_client, make_live_user, stripe_settings):
    stripe_settings.plan_limits = {"free": {"bots": 3}}
    owner = await make_live_user()
    assert await _create_bots(live_client, owner, 2) == [201, 201]
    codes = await _create_bots(live_client, owner, N)
    assert codes.count(201) == 1 and codes.count(402) == N - 1
    assert (await live_client.get(BOTS, headers=owner)).json()["total"] == 3


async def _race(live_runtime, attempt) -> int:
    async def one() -> bool:
        try:
            async with live_runtime.transaction() as session:
                await attempt(session)
        except PlanLimitReached:
            return False
        return True

    return sum(await asyncio.gather(*(one() for _ in range(N))))


async def test_concurrent_counts_are_never_lost(
    live_runtime, live_client, make_live_user, stripe_settings
):
    owner_id = uuid.UUID(await account_id(live_client, await make_live_user()))
    start, _ = service.usage_period(None, service.utcnow())

    async def turn(session):
        await service.count_usage(session, owner_id, start, messages=1, tokens=7)

    assert await _race(live_runtime, turn) == N
    async with live_runtime.read() as session:
        assert await service.messages_used(session, owner_id, start) == N


async def test_documents_and_storage_at_the_edge(
    live_runtime, live_client, make_live_user, stripe_settings
):
    documents_table()
    stripe_settings.plan_limits = {"free": {"documents": 5, "storage_bytes": 10_000}}
    owner = await make_live_user()
    bot_id = (await live_client.post(BOTS, json={"name": "Docs"}, headers=owner)).json()["id"]
    owner_id = uuid.UUID(await account_id(live_client, owner))

    async def upload(session, size=2_000):
        await service.check_document_upload(session, owner_id, size, settings=stripe_settings)
        await add_document(session, bot_id, size)

    assert await _race(live_runtime, upload) == 5  # 5 × 2,000 bytes: both limits at once
    usage = (await live_client.get("/api/v1/billing/subscription", headers=owner)).json()["usage"]
    assert usage["documents"] == {"used": 5, "limit": 5}
    assert usage["storage_bytes"] == {"used": 10_000, "limit": 10_000}
