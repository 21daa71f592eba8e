"""Plans are public data; without Stripe everyone is self-hosted and the Stripe endpoints say so."""

from __future__ import annotations

from tests.billing.conftest import BILLING, deliver, plan_of
from tests.fakes.stripe import event

MB = 1024 * 1024


async def test_plans_are_public_with_the_seeded_limits(client):
    r = await client.get(f"{BILLING}/plans")
    assert r.status_code == 200, r.text
    body = r.json()
    plans = {p["code"]: p for p in body["items"]}
    assert [p["code"] for p in body["items"]] == ["free", "pro", "business", "self_hosted"]
    assert plans["free"]["limits"] == {
        "bots": 1,
        "documents": 20,
        "storage_bytes": 50 * MB,
        "messages_per_month": 200,
        "max_file_bytes": 5 * MB,
    }
    assert plans["pro"]["limits"]["storage_bytes"] == 2 * 1024 * MB
    assert plans["business"]["limits"]["messages_per_month"] == 100_000
    assert set(plans["self_hosted"]["limits"].values()) == {None}
    assert body["billing_configured"] is False
    assert not any(p["purchasable"] for p in body["items"])


async def test_paid_plans_are_purchasable_with_stripe(client, stripe_settings):
    plans = {p["code"]: p for p in (await client.get(f"{BILLING}/plans")).json()["items"]}
    assert plans["pro"]["purchasable"] and plans["business"]["purchasable"]
    assert not plans["free"]["purchasable"] and not plans["self_hosted"]["purchasable"]


async def test_settings_override_plan_limits(client, settings):
    settings.plan_limits = {"free": {"bots": 3, "storage_bytes": None}}
    plans = {p["code"]: p for p in (await client.get(f"{BILLING}/plans")).json()["items"]}
    assert plans["free"]["limits"]["bots"] == 3
    assert plans["free"]["limits"]["storage_bytes"] is None
    assert plans["free"]["limits"]["documents"] == 20


async def test_without_stripe_every_account_is_self_hosted_and_unlimited(client, owner):
    for i in range(3):
        r = await client.post("/api/v1/bots", json={"name": f"Bot {i}"}, headers=owner)
        assert r.status_code == 201, r.text
    sub = await plan_of(client, owner)
    assert sub["plan"] == "self_hosted" and sub["status"] == "active"
    assert sub["billing_configured"] is False
    assert sub["usage"]["bots"] == {"used": 3, "limit": None}
    assert set(sub["limits"].values()) == {None}


async def test_default_plan_setting_applies_without_stripe(client, owner, settings):
    settings.default_plan = "pro"
    sub = await plan_of(client, owner)
    assert sub["plan"] == "pro" and sub["limits"]["bots"] == 10


async def test_stripe_endpoints_answer_503_without_stripe(client, owner):
    for path, body in (("checkout", {"plan": "pro"}), ("portal", None)):
        r = await client.post(f"{BILLING}/{path}", json=body, headers=owner)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "billing_not_configured"
    r = await deliver(client, event("customer.subscription.created", {"id": "sub_1"}))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "billing_not_configured"


async def test_new_accounts_start_on_free_with_stripe(client, owner, stripe_settings):
    sub = await plan_of(client, owner)
    assert sub["plan"] == "free" and sub["status"] == "active" and sub["billing_configured"]
    assert sub["stripe_customer_id"] is None and sub["stripe_subscription_id"] is None
    assert sub["usage"] == {
        "bots": {"used": 0, "limit": 1},
        "documents": {"used": 0, "limit": 20},
        "storage_bytes": {"used": 0, "limit": 50 * MB},
        "messages": {"used": 0, "limit": 200},
    }


async def test_subscription_needs_authentication(client):
    r = await client.get(f"{BILLING}/subscription")
    assert r.status_code == 401
