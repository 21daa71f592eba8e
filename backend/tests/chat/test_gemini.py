"""Chat through the app configured for Gemini: the real google-genai SDK against a fake server.

The fake's embeddings are random per text, so a question retrieves a chunk only when it is
that chunk's exact text; the tests ask such questions when they need context blocks.
"""

from __future__ import annotations

import pytest

from tests.chat.conftest import (
    API,
    LLM_TIMEOUT_SECONDS,
    add_document,
    ask,
    create_bot,
    history,
    parse_sse,
    start_conversation,
)

POLICY = "Refunds are accepted within 30 days of purchase, on the original payment method."


@pytest.fixture(autouse=True)
def _gemini_app(gemini_settings):
    """Configure Gemini before the live runtime is built from the settings."""


@pytest.fixture
async def rag(live_client, live_runtime, make_live_user):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner, system_prompt="You are Shopbot.")
    document_id = await add_document(live_client, live_runtime, owner, bot["id"], "policy", POLICY)
    chunks = (await live_client.get(f"{API}/documents/{document_id}/chunks", headers=owner)).json()
    conversation = await start_conversation(live_client, owner, bot["id"])
    return owner, conversation, {**chunks["items"][0], "document_id": document_id}


@pytest.fixture
async def chat_bot(live_client, make_live_user):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner, agent_type="chat")
    return owner, await start_conversation(live_client, owner, bot["id"])


async def test_gemini_answers_with_sources_and_usage(live_client, live_runtime, gemini, rag):
    owner, conversation, chunk = rag
    gemini.answer = "Within 30 days [1]."

    r = await ask(live_client, owner, conversation["id"], chunk["text"])

    assert live_runtime.agent.llm.provider == "gemini"
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["content"] == "Within 30 days [1]."
    assert answer["usage"] == {"prompt_tokens": 120, "completion_tokens": 4}
    [source] = answer["sources"]
    assert (source["document_id"], source["chunk_index"]) == (
        chunk["document_id"],
        chunk["chunk_index"],
    )
    assert source["number"] == 1 and source["document_name"] == "policy"
    assert source["text"] == chunk["text"] and source["dense_score"] == pytest.approx(1.0, abs=1e-4)


async def test_prompt_has_context_blocks_history_and_selected_text(live_client, gemini, rag):
    owner, conversation, chunk = rag
    # Nothing in the documents matches this one: the bot answers with its fallback.
    first = await ask(live_client, owner, conversation["id"], "Hi, who are you?")
    gemini.answer = "Second answer [1]."

    r = await ask(
        live_client,
        owner,
        conversation["id"],
        chunk["text"],
        selected_text="Annual plans renew automatically.",
    )

    assert r.status_code == 200, r.text
    prompt = gemini.last_prompt_text()
    assert "You are Shopbot." in prompt
    assert "<passages>" in prompt and '<passage cite="[1]" source="policy">' in prompt
    assert POLICY in prompt and "UNTRUSTED" in prompt
    assert "Hi, who are you?" in prompt and first.json()["content"] in prompt
    assert "<highlighted_text>\nAnnual plans renew automatically.\n</highlighted_text>" in prompt
    roles = [c["role"] for c in gemini.calls[-1].json()["contents"]]
    assert roles == ["user", "model", "user"]


async def test_prompt_keeps_only_the_last_10_messages(live_client, gemini, chat_bot):
    owner, conversation = chat_bot
    for n in range(1, 7):
        gemini.answer = f"answer number {n}"
        assert (
            await ask(live_client, owner, conversation["id"], f"question number {n}")
        ).status_code == 200

    await ask(live_client, owner, conversation["id"], "question number 7")

    contents = gemini.calls[-1].json()["contents"]
    texts = [c["parts"][0]["text"] for c in contents]
    assert len(contents) == 11
    assert texts[0] == "question number 2" and texts[-2] == "answer number 6"
    assert "question number 1" not in "\n".join(texts)


async def test_gemini_streams_tokens(live_client, gemini, rag):
    owner, conversation, chunk = rag
    gemini.answer = "Within thirty days, on the original payment method [1]."

    r = await ask(live_client, owner, conversation["id"], chunk["text"], stream=True)

    events = parse_sse(r.text)
    assert [n for n, _ in events][:1] == ["sources"] and events[-1][0] == "done"
    tokens = [d["delta"] for n, d in events if n == "token"]
    assert len(tokens) == 9 and "".join(tokens) == gemini.answer
    assert events[-1][1]["usage"] == {"prompt_tokens": 120, "completion_tokens": 9}
    stored = (await history(live_client, owner, conversation["id"]))[-1]
    assert stored["content"] == gemini.answer and stored["status"] == "complete"


async def test_a_429_is_retried_then_answered(live_client, gemini, chat_bot):
    owner, conversation = chat_bot
    gemini.fail(429, times=1)

    r = await ask(live_client, owner, conversation["id"], "hello")

    assert r.status_code == 200, r.text
    assert len(gemini.calls) == 2


async def test_rate_limit_is_503_with_retry_after(live_client, gemini, chat_bot):
    owner, conversation = chat_bot
    # Longer than the LLM's own retry budget, so it gives up at once.
    gemini.fail(429, times=5, retry_after="7")

    r = await ask(live_client, owner, conversation["id"], "hello")

    assert r.status_code == 503
    assert r.headers["retry-after"] == "7"
    error = r.json()["error"]
    assert error["code"] == "llm_rate_limited" and "upstream secret" not in r.text
    question, answer = await history(live_client, owner, conversation["id"])
    assert question["content"] == "hello"
    assert (answer["status"], answer["error_code"], answer["content"]) == (
        "failed",
        "llm_rate_limited",
        "",
    )


async def test_upstream_500_is_502_without_leaking(live_client, gemini, chat_bot):
    owner, conversation = chat_bot
    gemini.fail_forever(500)

    r = await ask(live_client, owner, conversation["id"], "hello")

    assert r.status_code == 502
    assert r.json()["error"]["code"] == "llm_error"
    assert "upstream secret" not in r.text and "500" not in r.json()["error"]["message"]
    assert r.json()["error"]["request_id"] == r.headers["x-request-id"]
    metrics = (await live_client.get("/metrics")).text
    assert 'chatsphere_llm_errors_total{code="llm_error",provider="gemini"}' in metrics


async def test_timeout_is_504(live_client, gemini, chat_bot):
    owner, conversation = chat_bot
    gemini.delay = LLM_TIMEOUT_SECONDS * 4

    r = await ask(live_client, owner, conversation["id"], "hello")

    assert r.status_code == 504
    assert r.json()["error"]["code"] == "llm_timeout"
    assert (await history(live_client, owner, conversation["id"]))[-1][
        "error_code"
    ] == "llm_timeout"


async def test_stream_failure_is_an_error_event(live_client, gemini, rag):
    owner, conversation, chunk = rag
    gemini.fail(429, times=5, retry_after="7")

    r = await ask(live_client, owner, conversation["id"], chunk["text"], stream=True)

    assert r.status_code == 200
    events = parse_sse(r.text)
    assert [n for n, _ in events] == ["sources", "error"]
    error = events[-1][1]
    assert error["code"] == "llm_rate_limited" and error["retry_after"] == 7
    assert "upstream secret" not in r.text
    answer = (await history(live_client, owner, conversation["id"]))[-1]
    assert answer["status"] == "failed" and answer["error_code"] == "llm_rate_limited"
    assert answer["sources"] == events[0][1]


@pytest.fixture
def one_embedding_attempt(gemini_settings):
    gemini_settings.agent.embed_max_attempts = 1  # no retries inside the call: 429 at once


async def test_a_rate_limited_embedder_is_503_with_retry_after(
    one_embedding_attempt, live_client, _gemini_fakes, rag
):
    owner, conversation, chunk = rag
    _, embeddings = _gemini_fakes
    embeddings.fail_next(2, status=429)
    r = await ask(live_client, owner, conversation["id"], "Something not asked before?")
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "llm_rate_limited" and int(r.headers["Retry-After"]) >= 1
    bot_id = (await live_client.get(f"{API}/conversations/{conversation['id']}",
                                    headers=owner)).json()["bot_id"]  # fmt: skip
    r = await live_client.post(
        f"{API}/bots/{bot_id}/search", json={"query": "Another new query"}, headers=owner
    )
    assert r.status_code == 503 and r.json()["error"]["code"] == "llm_rate_limited"


async def test_openai_completions_pass_history_temperature_and_max_tokens(
    live_client, live_runtime, gemini, chat_bot
):
    owner, conversation = chat_bot
    bot_id = (await live_client.get(f"{API}/conversations/{conversation['id']}",
                                    headers=owner)).json()["bot_id"]  # fmt: skip
    key = (await live_client.post(f"{API}/api-keys", json={"name": "k"}, headers=owner)).json()
    gemini.answer = "Fine, thanks."
    body = {
        "model": bot_id,
        "temperature": 0.7,
        "max_tokens": 50,
        "messages": [
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": "How are you?"},
        ],
    }
    r = await live_client.post(
        f"{API}/openai/chat/completions", json=body,
        headers={"Authorization": f"Bearer {key['key']}"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "Fine, thanks."
    sent = gemini.calls[-1].json()
    assert sent["generationConfig"]["temperature"] == 0.7
    assert sent["generationConfig"]["maxOutputTokens"] == 50
    assert "My name is Ada." in gemini.last_prompt_text()
