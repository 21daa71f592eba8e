"""Billing fixtures: Stripe settings pointing at a fake Stripe server, and webhook delivery."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from tests.fakes.server import FakeServer
from tests.fakes.stripe import FakeStripe, event, signed, subscription

WEBHOOK_SECRET = "whsec_test_secret"
PRICE_PRO = "price_pro_monthly"
PRICE_BUSINESS = "price_business_monthly"
BILLING = "/api/v1/billing"


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    with FakeServer() as server:
        yield FakeStripe(server)


@pytest.fixture
def fake_stripe(stripe_server: FakeStripe) -> FakeStripe:
    stripe_server.reset()
    return stripe_server


@pytest.fixture
def stripe_settings(settings: Settings, fake_stripe: FakeStripe) -> Settings:
    """Billing configured: accounts start on free and limits are enforced."""
    settings.stripe_secret_key = "sk_test_fake"
    settings.stripe_webhook_secret = WEBHOOK_SECRET
    settings.stripe_api_base = fake_stripe.url
    settings.stripe_price_pro = PRICE_PRO
    settings.stripe_price_business = PRICE_BUSINESS
    settings.stripe_success_url = "https://app.example.com/billing/done"
    settings.stripe_cancel_url = "https://app.example.com/billing/canceled"
    settings.stripe_portal_return_url = "https://app.example.com/billing"
    return settings


async def deliver(
    client: httpx.AsyncClient,
    payload: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    body, headers = signed(payload, secret, timestamp)
    return await client.post(f"{BILLING}/webhook", content=body, headers=headers)


async def account_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return (await client.get("/api/v1/users/me", headers=headers)).json()["id"]


async def subscribe(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    price: str = PRICE_PRO,
    created: int | None = None,
    status: str = "active",
) -> dict[str, Any]:
    """Move the account to a paid plan the way Stripe does: a signed subscription event."""
    sub = subscription(
        f"sub_{uuid.uuid4().hex[:12]}",
        customer=f"cus_{uuid.uuid4().hex[:12]}",
        price=price,
        status=status,
        account_id=await account_id(client, headers),
    )
    r = await deliver(client, event("customer.subscription.created", sub, created=created))
    assert r.status_code == 200, r.text
    return sub


async def plan_of(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get(f"{BILLING}/subscription", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
