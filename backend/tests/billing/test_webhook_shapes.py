"""A signed webhook whose body is not an event of the expected shape is a 400, never a 500
(a 500 makes Stripe retry for days), and it changes nothing."""

from __future__ import annotations

import pytest

from tests.billing.conftest import WEBHOOK_SECRET, plan_of
from tests.fakes.stripe import signed

API = "/api/v1"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        [],
        "x",
        {"id": "evt_1", "type": "invoice.paid", "created": 1700000000},
        {"id": "evt_1", "type": "invoice.paid", "created": "yesterday", "data": {"object": {}}},
        {"id": "evt_1", "type": "invoice.paid", "created": 1e20, "data": {"object": {}}},
        {"id": 7, "type": "invoice.paid", "created": 1700000000, "data": {"object": {}}},
        {
            "id": "evt_2",
            "type": "customer.subscription.updated",
            "created": 1700000000,
            "data": {"object": {"id": "sub_1", "status": "active", "items": {"data": "nope"}}},
        },
        {
            "id": "evt_3",
            "type": "customer.subscription.updated",
            "created": 1700000000,
            "data": {"object": {"status": "active"}},
        },
    ],
    ids=["empty", "list", "string", "no-data", "created-text", "created-huge", "id-number",
         "items-not-a-list", "no-subscription-id"],
)  # fmt: skip
async def test_signed_webhooks_of_the_wrong_shape_are_400(client, owner, stripe_settings, payload):
    body, headers = signed(payload, WEBHOOK_SECRET)
    r = await client.post(f"{API}/billing/webhook", content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_payload"
    assert (await plan_of(client, owner))["plan"] == "free"
