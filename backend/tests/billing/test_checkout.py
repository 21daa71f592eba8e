"""Checkout and portal through the real stripe SDK against a fake Stripe HTTP server."""

from __future__ import annotations

from tests.billing.conftest import BILLING, PRICE_BUSINESS, PRICE_PRO, account_id, subscribe


async def test_checkout_opens_a_subscription_session_at_the_plan_price(
    client, owner, stripe_settings, fake_stripe
):
    r = await client.post(f"{BILLING}/checkout", json={"plan": "pro"}, headers=owner)
    assert r.status_code == 200, r.text
    assert r.json()["url"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    me = await account_id(client, owner)
    [customer] = fake_stripe.customers
    assert customer["metadata[account_id]"] == me and customer["email"].endswith("@example.com")
    [session] = fake_stripe.checkouts
    assert session["mode"] == "subscription"
    assert session["line_items[0][price]"] == PRICE_PRO
    assert session["line_items[0][quantity]"] == "1"
    assert session["client_reference_id"] == me
    assert session["customer"].startswith("cus_")
    assert session["subscription_data[metadata][account_id]"] == me
    assert session["success_url"] == "https://app.example.com/billing/done"
    assert session["cancel_url"] == "https://app.example.com/billing/canceled"
    state = (await client.get(f"{BILLING}/subscription", headers=owner)).json()
    assert state["stripe_customer_id"] == session["customer"]
    assert state["plan"] == "free"  # nothing is given before Stripe says it is paid


async def test_checkout_reuses_the_customer(client, owner, stripe_settings, fake_stripe):
    for plan in ("pro", "business"):
        r = await client.post(f"{BILLING}/checkout", json={"plan": plan}, headers=owner)
        assert r.status_code == 200, r.text
    assert len(fake_stripe.customers) == 1
    first, second = fake_stripe.checkouts
    assert first["customer"] == second["customer"]
    assert second["line_items[0][price]"] == PRICE_BUSINESS


async def test_checkout_refuses_plans_that_cannot_be_bought(
    client, owner, stripe_settings, fake_stripe
):
    for plan in ("free", "self_hosted", "gold"):
        r = await client.post(f"{BILLING}/checkout", json={"plan": plan}, headers=owner)
        assert r.status_code == 422, r.text
    stripe_settings.stripe_price_business = None
    r = await client.post(f"{BILLING}/checkout", json={"plan": "business"}, headers=owner)
    assert r.status_code == 400 and r.json()["error"]["code"] == "plan_not_available"
    assert fake_stripe.checkouts == []


async def test_paid_accounts_change_plans_in_the_portal(
    client, owner, stripe_settings, fake_stripe
):
    await subscribe(client, owner)
    r = await client.post(f"{BILLING}/checkout", json={"plan": "business"}, headers=owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_subscribed"
    assert fake_stripe.checkouts == []


async def test_portal_returns_a_url_for_the_account_customer(
    client, owner, stripe_settings, fake_stripe
):
    r = await client.post(f"{BILLING}/portal", headers=owner)
    assert r.status_code == 200, r.text
    assert r.json()["url"].startswith("https://billing.stripe.test/p/session/")
    r = await client.post(f"{BILLING}/portal", headers=owner)
    assert r.status_code == 200
    assert len(fake_stripe.customers) == 1
    first, second = fake_stripe.portals
    assert first["customer"] == second["customer"]
    assert first["return_url"] == "https://app.example.com/billing"


async def test_stripe_errors_are_clear_502s(client, owner, stripe_settings, fake_stripe):
    fake_stripe.fail("/v1/checkout/sessions", 400, "resource_missing")
    r = await client.post(f"{BILLING}/checkout", json={"plan": "pro"}, headers=owner)
    assert r.status_code == 502, r.text
    error = r.json()["error"]
    assert error["code"] == "stripe_error"
    assert error["details"] == {
        "stripe_error": "InvalidRequestError",
        "stripe_code": "resource_missing",
    }
    assert "fake" not in error["message"]
    # The customer created before the failure is kept and reused.
    r = await client.post(f"{BILLING}/checkout", json={"plan": "pro"}, headers=owner)
    assert r.status_code == 200
    assert len(fake_stripe.customers) == 1


async def test_unreachable_stripe_is_a_502(client, owner, stripe_settings):
    stripe_settings.stripe_api_base = "http://127.0.0.1:9"  # nothing listens there
    r = await client.post(f"{BILLING}/portal", headers=owner)
    assert r.status_code == 502 and r.json()["error"]["code"] == "stripe_error"


async def test_checkout_needs_authentication(client, stripe_settings):
    r = await client.post(f"{BILLING}/checkout", json={"plan": "pro"})
    assert r.status_code == 401
