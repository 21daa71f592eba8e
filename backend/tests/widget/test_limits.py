"""Limits a visitor cannot dodge: per visitor, per address, per bot per day, and the owner's
monthly quota (402, without the owner's plan)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.widget.conftest import API, new_session, site

pytestmark = pytest.mark.usefixtures("clear_of_window_boundary")


def _limited(r, wait_at_least: int = 1) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= wait_at_least
    assert r.headers["access-control-allow-origin"]  # the widget can read it


async def test_a_visitor_is_limited_per_minute(client, shop, settings):
    settings.widget_visitor_rate_limit = "2/minute"
    token = (await new_session(client, shop))["session_token"]
    codes = []
    for _ in range(3):
        r = await client.post(f"{shop.base}/messages", json={"content": "refund?"},
                              headers=site(token=token))  # fmt: skip
        codes.append(r.status_code)
    assert codes[:2] == [200, 200]
    _limited(r)
    # A new session is the same visitor: renewing does not reset the limit.
    renewed = await new_session(client, shop, session_token=token, new_conversation=True)
    r = await client.post(f"{shop.base}/messages", json={"content": "refund?"},
                          headers=site(token=renewed["session_token"]))  # fmt: skip
    _limited(r)


async def test_new_visitors_per_address_are_limited(client, shop, settings):
    settings.widget_session_rate_limit = "3/hour"
    for _ in range(3):
        await new_session(client, shop)
    r = await client.post(f"{shop.base}/sessions", json={}, headers=site())
    _limited(r, wait_at_least=60)


async def test_messages_per_address_are_refused_before_any_database_work(
    client, shop, settings, engine
):
    settings.widget_ip_rate_limit = "2/minute"
    token = (await new_session(client, shop))["session_token"]
    for _ in range(2):
        await client.post(f"{shop.base}/messages", json={"content": "refund?"},
                          headers=site(token=token))  # fmt: skip
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            r = await client.post(f"{shop.base}/messages", json={"content": "refund?"},
                                  headers=site(token=token))  # fmt: skip
            _limited(r)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert statements == []


async def test_a_bot_has_a_daily_limit_of_its_own(client, shop):
    r = await client.patch(f"{API}/bots/{shop.bot['id']}", json={"daily_message_limit": 2},
                           headers=shop.owner)  # fmt: skip
    assert r.json()["daily_message_limit"] == 2
    codes = []
    for _ in range(3):  # three visitors, one message each
        token = (await new_session(client, shop))["session_token"]
        r = await client.post(f"{shop.base}/messages", json={"content": "refund?"},
                              headers=site(token=token))  # fmt: skip
        codes.append(r.status_code)
    assert codes == [200, 200, 429]
    assert "today" in r.json()["error"]["message"]
    r = await client.patch(f"{API}/bots/{shop.bot['id']}", json={"daily_message_limit": None},
                           headers=shop.owner)  # fmt: skip
    assert r.json()["daily_message_limit"] is None  # back to the server's default
    r = await client.patch(f"{API}/bots/{shop.bot['id']}", json={"daily_message_limit": 0},
                           headers=shop.owner)  # fmt: skip
    assert r.status_code == 422


async def test_the_monthly_quota_answers_402_without_the_plan(client, shop, settings):
    settings.plan_limits = {"self_hosted": {"messages_per_month": 1}}
    token = (await new_session(client, shop))["session_token"]
    r = await client.post(f"{shop.base}/messages", json={"content": "refund?"},
                          headers=site(token=token))  # fmt: skip
    assert r.status_code == 200
    r = await client.post(f"{shop.base}/messages", json={"content": "refund?"},
                          headers=site(token=token))  # fmt: skip
    assert r.status_code == 402, r.text
    error = r.json()["error"]
    assert error["code"] == "plan_limit_reached" and error["details"] == {}
    assert "plan" not in error["message"].lower()
