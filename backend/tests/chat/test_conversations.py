"""Conversations, message history, feedback, limits and isolation between owners.

The bots here are `chat` bots answered by the local answerer: no retrieval, so these run
inside the per-test transaction.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from app.chat.models import BotUsage
from tests.chat.conftest import API, ask, create_bot, history, start_conversation


@pytest.fixture
async def chat(client, owner):
    bot = await create_bot(client, owner, agent_type="chat")
    conversation = await start_conversation(client, owner, bot["id"])
    return bot, conversation


async def test_create_get_and_list_conversations(client, owner):
    bot = await create_bot(client, owner)
    first = await start_conversation(client, owner, bot["id"], title="Refunds")
    second = await start_conversation(client, owner, bot["id"])

    assert first["bot_id"] == bot["id"] and first["title"] == "Refunds"
    r = await client.get(f"{API}/conversations/{first['id']}", headers=owner)
    assert r.status_code == 200 and r.json()["id"] == first["id"]
    r = await client.get(f"{API}/bots/{bot['id']}/conversations", headers=owner)
    page = r.json()
    assert page["total"] == 2 and page["limit"] == 20 and page["offset"] == 0
    assert {c["id"] for c in page["items"]} == {first["id"], second["id"]}


async def test_a_message_is_answered_and_both_are_stored(client, owner, chat):
    bot, conversation = chat

    r = await ask(client, owner, conversation["id"], "  Hello there?  ")

    assert r.status_code == 200, r.text
    answer = r.json()
    assert set(answer) == {
        "message_id",
        "conversation_id",
        "content",
        "sources",
        "usage",
        "latency_ms",
    }
    assert answer["conversation_id"] == conversation["id"]
    assert answer["content"] and answer["sources"] == []
    assert answer["usage"]["completion_tokens"] > 0 and answer["latency_ms"] >= 0
    question, reply = await history(client, owner, conversation["id"])
    assert (question["role"], question["content"], question["status"]) == (
        "user",
        "Hello there?",
        "complete",
    )
    assert reply["id"] == answer["message_id"] and reply["role"] == "assistant"
    assert reply["content"] == answer["content"] and reply["usage"] == answer["usage"]
    assert reply["status"] == "complete" and reply["error_code"] is None


async def test_title_defaults_to_the_first_question(client, owner, chat):
    _, conversation = chat
    await ask(client, owner, conversation["id"], "How do refunds work for annual plans?")
    await ask(client, owner, conversation["id"], "And monthly?")

    r = await client.get(f"{API}/conversations/{conversation['id']}", headers=owner)
    assert r.json()["title"] == "How do refunds work for annual plans?"


async def test_history_is_paginated_oldest_first(client, owner, chat):
    _, conversation = chat
    for n in range(3):
        assert (await ask(client, owner, conversation["id"], f"question {n}")).status_code == 200

    url = f"{API}/conversations/{conversation['id']}/messages"
    page = (await client.get(url, params={"limit": 2, "offset": 2}, headers=owner)).json()

    assert page["total"] == 6 and page["limit"] == 2 and page["offset"] == 2
    assert [(m["role"], m["content"]) for m in page["items"]][0] == ("user", "question 1")
    assert page["items"][1]["role"] == "assistant"
    everything = await history(client, owner, conversation["id"])
    assert [m["role"] for m in everything] == ["user", "assistant"] * 3


@pytest.mark.parametrize("content", ["", "   ", "x" * 4001])
async def test_content_must_be_1_to_4000_characters(client, owner, chat, content):
    _, conversation = chat

    r = await ask(client, owner, conversation["id"], content)

    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert await history(client, owner, conversation["id"]) == []


async def test_4000_characters_are_accepted(client, owner, chat):
    _, conversation = chat
    r = await ask(client, owner, conversation["id"], "y" * 4000)
    assert r.status_code == 200, r.text


async def test_deleted_conversation_answers_404(client, owner, chat):
    bot, conversation = chat
    await ask(client, owner, conversation["id"], "hello")
    url = f"{API}/conversations/{conversation['id']}"

    assert (await client.delete(url, headers=owner)).status_code == 204

    for r in (
        await client.get(url, headers=owner),
        await client.get(f"{url}/messages", headers=owner),
        await ask(client, owner, conversation["id"], "still there?"),
        await client.delete(url, headers=owner),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "conversation_not_found"
    listed = (await client.get(f"{API}/bots/{bot['id']}/conversations", headers=owner)).json()
    assert listed["total"] == 0


async def test_another_owners_conversations_answer_404(client, owner, make_user, chat):
    bot, conversation = chat
    answer = (await ask(client, owner, conversation["id"], "hello")).json()
    stranger = await make_user()
    url = f"{API}/conversations/{conversation['id']}"

    for r in (
        await client.get(url, headers=stranger),
        await client.get(f"{url}/messages", headers=stranger),
        await ask(client, stranger, conversation["id"], "let me in"),
        await client.delete(url, headers=stranger),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "conversation_not_found"
    missing = await client.get(f"{API}/conversations/{uuid.uuid4()}", headers=owner)
    assert (
        missing.status_code == 404 and missing.json()["error"]["code"] == "conversation_not_found"
    )
    feedback = await client.post(
        f"{API}/messages/{answer['message_id']}/feedback", json={"rating": "up"}, headers=stranger
    )
    assert feedback.status_code == 404 and feedback.json()["error"]["code"] == "message_not_found"
    for r in (
        await client.get(f"{API}/bots/{bot['id']}/conversations", headers=stranger),
        await client.post(f"{API}/bots/{bot['id']}/conversations", json={}, headers=stranger),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "bot_not_found"
    # The owner's history is untouched by the stranger's attempts.
    assert len(await history(client, owner, conversation["id"])) == 2


async def test_conversations_need_authentication(client, chat):
    _, conversation = chat
    r = await client.get(f"{API}/conversations/{conversation['id']}")
    assert r.status_code == 401


async def test_feedback_rates_an_answer_and_can_be_changed(client, owner, chat):
    _, conversation = chat
    answer = (await ask(client, owner, conversation["id"], "hello")).json()
    url = f"{API}/messages/{answer['message_id']}/feedback"

    r = await client.post(url, json={"rating": "up"}, headers=owner)
    assert r.status_code == 200, r.text
    assert r.json()["rating"] == "up" and r.json()["comment"] is None
    r = await client.post(url, json={"rating": "down", "comment": "Too vague"}, headers=owner)
    assert r.json()["rating"] == "down" and r.json()["comment"] == "Too vague"
    assert r.json()["message_id"] == answer["message_id"]


async def test_feedback_is_only_for_answers(client, owner, chat):
    _, conversation = chat
    await ask(client, owner, conversation["id"], "hello")
    question = (await history(client, owner, conversation["id"]))[0]
    url = f"{API}/messages/{question['id']}/feedback"

    r = await client.post(url, json={"rating": "up"}, headers=owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "feedback_not_allowed"
    r = await client.post(url, json={"rating": "meh"}, headers=owner)
    assert r.status_code == 422


async def test_messages_and_tokens_are_counted_per_bot_per_month(client, owner, chat, db):
    bot, conversation = chat
    answers = [(await ask(client, owner, conversation["id"], f"q{n}")).json() for n in range(2)]

    usage = (
        await db.scalars(select(BotUsage).where(BotUsage.bot_id == uuid.UUID(bot["id"])))
    ).all()

    assert len(usage) == 1
    assert usage[0].messages == 2
    assert usage[0].prompt_tokens == sum(a["usage"]["prompt_tokens"] for a in answers)
    assert usage[0].completion_tokens == sum(a["usage"]["completion_tokens"] for a in answers)
    assert len(usage[0].period) == 7 and usage[0].period[4] == "-"


async def test_past_the_monthly_messages_the_owner_gets_402(client, owner, chat, settings):
    _, conversation = chat
    settings.plan_limits = {settings.default_plan: {"messages_per_month": 2}}
    for n in range(2):
        assert (await ask(client, owner, conversation["id"], f"q{n}")).status_code == 200

    r = await ask(client, owner, conversation["id"], "one more")

    assert r.status_code == 402 and r.json()["error"]["code"] == "plan_limit_reached"
    assert [m["content"] for m in await history(client, owner, conversation["id"])][::2] == [
        "q0",
        "q1",
    ]


async def test_concurrent_first_ratings_all_succeed_and_keep_one_feedback(
    live_client, make_live_user
):
    owner = await make_live_user()
    bot = (await live_client.post(f"{API}/bots", json={"name": "b"}, headers=owner)).json()
    conversation = (
        await live_client.post(f"{API}/bots/{bot['id']}/conversations", json={}, headers=owner)
    ).json()
    answer = (await ask(live_client, owner, conversation["id"], "hello")).json()
    url = f"{API}/messages/{answer['message_id']}/feedback"

    responses = await asyncio.gather(
        *(live_client.post(url, json={"rating": "up"}, headers=owner) for _ in range(10))
    )

    assert [r.status_code for r in responses] == [200] * 10
    assert {r.json()["message_id"] for r in responses} == {answer["message_id"]}


async def test_conversations_can_be_renamed_and_carry_counts(client, owner, chat):
    bot_id, conversation_id = chat[0]["id"], chat[1]["id"]
    for question in ("What is the refund window?", "And for gift cards?"):
        assert (await ask(client, owner, conversation_id, question)).status_code == 200
    r = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"title": "Refunds"}, headers=owner
    )
    assert r.status_code == 200 and r.json()["title"] == "Refunds"
    listed = (await client.get(f"/api/v1/bots/{bot_id}/conversations", headers=owner)).json()
    [conversation] = [c for c in listed["items"] if c["id"] == conversation_id]
    assert conversation["title"] == "Refunds" and conversation["message_count"] == 4
    assert conversation["last_message_at"] is not None and conversation["visitor_id"] is None
    r = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"title": " "}, headers=owner
    )
    assert r.status_code == 422


async def test_messages_can_be_listed_newest_first(client, owner, chat):
    conversation_id = chat[1]["id"]
    for question in ("first question", "second question"):
        await ask(client, owner, conversation_id, question)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    oldest = (await client.get(url, headers=owner)).json()["items"]
    newest = (await client.get(url, params={"order": "desc"}, headers=owner)).json()["items"]
    assert [m["id"] for m in newest] == [m["id"] for m in reversed(oldest)]
    assert newest[-1]["content"] == "first question"
    assert (await client.get(url, params={"order": "up"}, headers=owner)).status_code == 422


async def test_a_switched_off_bot_refuses_chat_with_409(client, owner, chat):
    bot_id, conversation_id = chat[0]["id"], chat[1]["id"]
    r = await client.patch(f"/api/v1/bots/{bot_id}", json={"is_active": False}, headers=owner)
    assert r.status_code == 200
    r = await ask(client, owner, conversation_id, "Anyone there?")
    assert r.status_code == 409 and r.json()["error"]["code"] == "bot_inactive"
    # The owner can still edit the bot and read its conversations.
    assert (await client.get(f"/api/v1/conversations/{conversation_id}/messages",
                             headers=owner)).status_code == 200  # fmt: skip
    await client.patch(f"/api/v1/bots/{bot_id}", json={"is_active": True}, headers=owner)
    assert (await ask(client, owner, conversation_id, "Back?")).status_code == 200
