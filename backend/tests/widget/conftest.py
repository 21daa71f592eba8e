"""Widget fixtures: a bot that allows one site, with a document, and helpers that talk to the
widget's API as that site's page would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.chat.conftest import (  # noqa: F401 - the fake Gemini's fixtures, for widget tests
    _gemini_fakes,
    _gemini_server,
    add_document,
    create_bot,
    gemini,
    gemini_settings,
)

API = "/api/v1"
SITE = "https://shop.example.com"
REFUNDS = "Refunds are accepted within 30 days of purchase with a receipt."


@dataclass
class Shop:
    owner: dict[str, str]
    bot: dict[str, Any]

    @property
    def key(self) -> str:
        return self.bot["public_key"]

    @property
    def base(self) -> str:
        return f"{API}/widget/{self.key}"


# Answers are stored and documents indexed in transactions of their own (committed mode).
@pytest.fixture
def client(live_client):
    return live_client


@pytest.fixture
def runtime(live_runtime):
    return live_runtime


@pytest.fixture
def make_user(make_live_user):
    return make_live_user


@pytest.fixture
async def owner(make_live_user):
    return await make_live_user()


@pytest.fixture
async def shop(client, runtime, owner) -> Shop:
    bot = await create_bot(
        client, owner, name="Shop", allowed_origins=[SITE], welcome_message="Hi!",
        suggested_questions=["How do refunds work?"], theme_color="#AA3300",
    )  # fmt: skip
    await add_document(client, runtime, owner, bot["id"], "Refund policy", REFUNDS)
    return Shop(owner, bot)


def site(origin: str = SITE, token: str | None = None) -> dict[str, str]:
    headers = {"Origin": origin}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def new_session(
    client: httpx.AsyncClient, shop: Shop, origin: str = SITE, **body: Any
) -> dict[str, Any]:
    r = await client.post(f"{shop.base}/sessions", json=body, headers=site(origin))
    assert r.status_code == 201, r.text
    return r.json()
