"""Unanswered questions grouped by similarity, answered by the owner through a Q&A document,
and usage: over HTTP, as the dashboard uses them."""

from __future__ import annotations

import uuid

import pytest

from app.documents.ingest import process_queued
from app.insights.service import group
from tests.chat.conftest import add_document, ask, create_bot, start_conversation

API = "/api/v1"
FALLBACK = "Sorry, I can only help with refunds."


@pytest.fixture
async def shop(live_client, live_runtime, make_live_user):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner, name="Shop", fallback_message=FALLBACK)
    await add_document(live_client, live_runtime, owner, bot["id"], "Refunds",
                       "Refunds are accepted within 30 days of purchase with a receipt.")  # fmt: skip
    conversation = await start_conversation(live_client, owner, bot["id"])
    return owner, bot, conversation


async def _unanswered(client, owner, bot_id, **params) -> dict:
    r = await client.get(f"{API}/bots/{bot_id}/insights/unanswered", params=params, headers=owner)
    assert r.status_code == 200, r.text
    return r.json()


async def test_unanswered_questions_are_grouped_counted_and_answered(
    live_client, live_runtime, shop
):
    owner, bot, conversation = shop
    for question in ("Do you ship to Canada?", "Can you ship to Canada?",
                     "Is the shop open on Sunday morning?", "How many days do I have for a refund?"):  # fmt: skip
        r = await ask(live_client, owner, conversation["id"], question)
        assert r.status_code == 200, r.text
    page = await _unanswered(live_client, owner, bot["id"])
    assert page["total"] == 2  # the refund question was answered from the document
    canada, paypal = page["items"]
    assert canada["count"] == 2 and set(canada["examples"]) == {
        "Do you ship to Canada?", "Can you ship to Canada?"}  # fmt: skip
    assert canada["reasons"] == {"fallback": 2} and canada["status"] == "open"
    assert paypal["count"] == 1 and paypal["question"] == "Is the shop open on Sunday morning?"

    # The owner answers; the group is being answered until the Q&A document is ready.
    url = f"{API}/bots/{bot['id']}/insights/unanswered/{canada['id']}/resolve"
    r = await live_client.post(url, json={"answer": "Yes, we ship to Canada in 5 days."},
                               headers=owner)  # fmt: skip
    assert r.status_code == 202, r.text
    document_id = r.json()["document_id"]
    page = await _unanswered(live_client, owner, bot["id"])
    assert {g["id"]: g["status"] for g in page["items"]}[canada["id"]] == "answering"
    assert document_id in await process_queued(live_runtime)
    page = await _unanswered(live_client, owner, bot["id"])
    assert [g["id"] for g in page["items"]] == [paypal["id"]]
    resolved = await _unanswered(live_client, owner, bot["id"], resolved="true")
    assert [g["id"] for g in resolved["items"]] == [canada["id"]]
    assert resolved["items"][0]["status"] == "resolved"

    # The bot now answers it from the Q&A document.
    r = await ask(live_client, owner, conversation["id"], "Do you ship to Canada?")
    assert "Canada" in r.json()["content"] and r.json()["sources"]

    # Deleting the answer's document reopens the group.
    r = await live_client.delete(f"{API}/documents/{document_id}", headers=owner)
    assert r.status_code in (202, 204)
    page = await _unanswered(live_client, owner, bot["id"])
    assert canada["id"] in [g["id"] for g in page["items"]]


async def test_a_thumbs_down_counts_its_question_once(live_client, shop):
    owner, bot, conversation = shop
    r = await ask(live_client, owner, conversation["id"], "How many days do I have for a refund?")
    message_id = r.json()["message_id"]
    for rating in ("down", "up", "down"):
        r = await live_client.post(f"{API}/messages/{message_id}/feedback",
                                   json={"rating": rating}, headers=owner)  # fmt: skip
        assert r.status_code == 200
    page = await _unanswered(live_client, owner, bot["id"])
    assert [(g["question"], g["count"], g["reasons"]) for g in page["items"]] == [
        ("How many days do I have for a refund?", 1, {"thumbs_down": 1})
    ]
    # The conversation list filters by it, and the transcript shows the rating.
    r = await live_client.get(f"{API}/bots/{bot['id']}/conversations?rating=down", headers=owner)
    assert [c["id"] for c in r.json()["items"]] == [conversation["id"]]
    r = await live_client.get(f"{API}/bots/{bot['id']}/conversations?rating=up", headers=owner)
    assert r.json()["total"] == 0
    r = await live_client.get(f"{API}/conversations/{conversation['id']}/messages", headers=owner)
    assert [m["feedback"] for m in r.json()["items"]] == [None, "down"]


async def test_refusals(live_client, shop, make_live_user):
    owner, bot, _ = shop
    url = f"{API}/bots/{bot['id']}/insights/unanswered/{uuid.uuid4()}/resolve"
    r = await live_client.post(url, json={"answer": "x"}, headers=owner)
    assert r.status_code == 404 and r.json()["error"]["code"] == "insight_not_found"
    r = await live_client.post(url, json={"answer": ""}, headers=owner)
    assert r.status_code == 422
    stranger = await make_live_user()
    for path in ("insights/unanswered", "insights/usage"):
        r = await live_client.get(f"{API}/bots/{bot['id']}/{path}", headers=stranger)
        assert r.status_code == 404


async def test_usage_counts_questions_per_day_and_top_sources(live_client, shop):
    owner, bot, conversation = shop
    for _ in range(3):
        await ask(live_client, owner, conversation["id"], "How many days do I have for a refund?")
    r = await live_client.get(f"{API}/bots/{bot['id']}/insights/usage", headers=owner)
    body = r.json()
    assert len(body["days"]) == 30 and body["total"] == 3
    assert body["days"][-1]["messages"] == 3 and body["days"][0]["messages"] == 0
    assert body["top_sources"][0]["document_name"] == "Refunds"
    assert body["top_sources"][0]["citations"] == 3
    r = await live_client.get(f"{API}/bots", headers=owner)
    assert r.json()["items"][0]["messages_this_month"] == 3
    r = await live_client.get(f"{API}/bots/{bot['id']}", headers=owner)
    assert r.json()["messages_this_month"] == 3


def test_grouping_is_by_overlap_of_content_words_and_ids_are_stable():
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [uuid.uuid4() for _ in range(4)]
    rows = [(ids[0], "Do you ship to Canada?", "fallback", t0),
            (ids[1], "Shipping to Canada possible?", "fallback", t0 + timedelta(1)),
            (ids[2], "What are your opening hours?", "no_sources", t0 + timedelta(2))]  # fmt: skip
    groups = group(rows)
    assert [(g.id, g.count) for g in groups] == [(ids[0], 2), (ids[2], 1)]
    later = group([*rows, (ids[3], "Can I ship to Canada?", "fallback", t0 + timedelta(3))])
    assert [(g.id, g.count) for g in later] == [(ids[0], 3), (ids[2], 1)]
