"""Grounded answers in the embedded default: local embedder, local vector store, local answerer.

Documents go in through the API and are ingested in-process; retrieval reads the vector
store outside the request transaction, so these tests commit for real (live fixtures).
"""

from __future__ import annotations

import re

import pytest

from agent.llm.local import PREAMBLE
from tests.chat.conftest import (
    add_document,
    ask,
    create_bot,
    history,
    parse_sse,
    start_conversation,
)

REFUNDS = """Refund policy.

Customers can request a full refund within 30 days of purchase. Refunds are sent back to \
the original payment method and usually arrive within five business days. Gift cards are \
not refundable."""

SHIPPING = """Shipping.

Orders ship from our warehouse in Rotterdam. Standard delivery takes three to five days \
inside the European Union, and express delivery arrives the next business day."""

FALLBACK = "I can only help with questions about our shop."


@pytest.fixture
async def shop(live_client, live_runtime, make_live_user):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner, fallback_message=FALLBACK)
    refunds = await add_document(live_client, live_runtime, owner, bot["id"], "refunds", REFUNDS)
    shipping = await add_document(live_client, live_runtime, owner, bot["id"], "shipping", SHIPPING)
    conversation = await start_conversation(live_client, owner, bot["id"])
    return owner, conversation, {"refunds": refunds, "shipping": shipping}


def cited(content: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", content)}


async def test_local_answerer_cites_the_chunk_with_the_answer(live_client, shop):
    owner, conversation, documents = shop

    r = await ask(
        live_client, owner, conversation["id"], "How many days do I have to ask for a refund?"
    )

    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["content"].startswith(PREAMBLE)
    assert "within 30 days of purchase" in answer["content"]
    by_number = {s["number"]: s for s in answer["sources"]}
    assert cited(answer["content"]) and cited(answer["content"]) <= set(by_number)
    for number in cited(answer["content"]):
        source = by_number[number]
        assert source["document_id"] == documents["refunds"]
        assert "30 days" in source["text"]
    source = answer["sources"][0]
    assert set(source) == {
        "number",
        "chunk_id",
        "document_id",
        "document_name",
        "chunk_index",
        "page",
        "score",
        "text",
        "lexical_rank",
        "dense_score",
        "fused_score",
    }
    assert source["score"] > 0
    # Found by both searches (hybrid, the default): the refund chunk matches its words too.
    assert source["lexical_rank"] == 1 and source["dense_score"] > 0.1
    assert source["score"] == source["fused_score"]
    chunks = (
        await live_client.get(f"/api/v1/documents/{documents['refunds']}/chunks", headers=owner)
    ).json()
    assert source["chunk_id"] in {c["id"] for c in chunks["items"]}
    stored = (await history(live_client, owner, conversation["id"]))[-1]
    assert stored["sources"] == answer["sources"]


async def test_an_unrelated_question_gets_the_fallback_message(live_client, shop):
    owner, conversation, _ = shop

    r = await ask(live_client, owner, conversation["id"], "Who painted the Mona Lisa?")

    assert r.status_code == 200, r.text
    assert r.json()["content"] == FALLBACK and r.json()["sources"] == []
    assert (await history(live_client, owner, conversation["id"]))[-1]["content"] == FALLBACK


async def test_a_bot_without_documents_gives_its_fallback(live_client, make_live_user):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner, fallback_message=FALLBACK)
    conversation = await start_conversation(live_client, owner, bot["id"])

    r = await ask(live_client, owner, conversation["id"], "How do refunds work?")

    assert r.status_code == 200 and r.json()["content"] == FALLBACK


@pytest.mark.parametrize("how", ["body", "accept"])
async def test_streaming_sends_sources_tokens_done_and_stores_the_answer(live_client, shop, how):
    owner, conversation, documents = shop
    question = "How long does express delivery take?"
    if how == "body":
        r = await ask(live_client, owner, conversation["id"], question, stream=True)
    else:
        headers = {**owner, "Accept": "text/event-stream"}
        r = await ask(live_client, headers, conversation["id"], question)

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    events = parse_sse(r.text)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert set(names[1:-1]) == {"token"} and len(names) > 3
    sources = events[0][1]
    assert sources and sources[0]["document_id"] == documents["shipping"]
    text = "".join(data["delta"] for name, data in events if name == "token")
    assert "express delivery arrives the next business day" in text
    done = events[-1][1]
    assert done["usage"]["completion_tokens"] > 0 and done["latency_ms"] >= 0

    question_row, answer_row = await history(live_client, owner, conversation["id"])
    assert question_row["content"] == question
    assert answer_row["id"] == done["message_id"] and answer_row["status"] == "complete"
    assert answer_row["content"] == text and answer_row["sources"] == sources
    assert answer_row["usage"] == done["usage"]


async def test_streamed_fallback_has_no_sources(live_client, shop):
    owner, conversation, _ = shop

    r = await ask(live_client, owner, conversation["id"], "Who painted the Mona Lisa?", stream=True)

    events = parse_sse(r.text)
    assert events[0] == ("sources", [])
    assert "".join(d["delta"] for n, d in events if n == "token") == FALLBACK
    assert events[-1][0] == "done"
