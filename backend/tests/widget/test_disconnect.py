"""A visitor who leaves mid-answer: generation stops and the partial answer is stored,
marked interrupted (chat's turn code, reached through the widget's route)."""

from __future__ import annotations

import asyncio

import pytest

from app.main import create_app
from tests.chat.test_disconnect import Client, http_scope
from tests.widget.conftest import SITE, new_session, site

WORDS, DELAY = 40, 0.1


@pytest.mark.parametrize("failing_send", [False, True], ids=["disconnect-message", "send-fails"])
async def test_a_visitor_leaving_mid_answer_leaves_it_stored_as_interrupted(
    client,
    runtime,
    gemini_settings,
    gemini,
    failing_send,
    make_user,
):
    gemini.answer = " ".join(f"word{n}" for n in range(WORDS))
    gemini.delay = DELAY
    owner = await make_user()
    r = await client.post("/api/v1/bots", json={"name": "Chatty", "agent_type": "chat",
                                                "allowed_origins": [SITE]}, headers=owner)  # fmt: skip
    bot = r.json()

    class Shop:
        base = f"/api/v1/widget/{bot['public_key']}"

    session = await new_session(client, Shop)
    app = create_app(runtime=runtime)
    headers = {**site(token=session["session_token"]), "content-type": "application/json",
               "host": "testserver"}  # fmt: skip
    visitor = Client({"content": "Tell me a long story"}, 3, failing_send=failing_send)
    await asyncio.wait_for(app(http_scope(f"{Shop.base}/messages", headers), visitor.receive,
                               visitor.send), 10)  # fmt: skip
    assert b"event: token" in visitor.received, visitor.received
    assert b"event: done" not in visitor.received

    r = await client.get(f"{Shop.base}/messages", headers=site(token=session["session_token"]))
    question, answer = r.json()["items"]
    assert question["content"] == "Tell me a long story"
    assert answer["status"] == "interrupted"
    assert answer["content"].startswith("word0 word1 word2")
    assert len(answer["content"].split()) < WORDS
