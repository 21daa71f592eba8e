"""The OpenAI-compatible API, driven by the official `openai` client and checked on the wire."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from app.main import create_app
from tests.chat.conftest import add_document, create_bot

API = "/api/v1"
REFUNDS = "Refunds are accepted within 30 days of purchase with a receipt."


@pytest.fixture
async def shop(live_client, live_runtime, make_live_user):
    owner = await make_live_user()
    bot = await create_bot(
        live_client, owner, name="Shop Bot", fallback_message="Ask me about refunds."
    )
    await add_document(live_client, live_runtime, owner, bot["id"], "refunds", REFUNDS)
    other = await create_bot(live_client, owner, name="Other")
    r = await live_client.post(
        f"{API}/api-keys", json={"name": "sdk", "bot_ids": [bot["id"]]}, headers=owner
    )
    return owner, bot, other, r.json()["key"]


@pytest.fixture
def sdk(live_runtime, shop):
    app = create_app(runtime=live_runtime)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    return openai.AsyncOpenAI(api_key=shop[3], base_url="http://t/api/v1/openai", http_client=http)


async def test_models_are_the_bots_the_key_may_use(sdk, shop):
    _, bot, _, _ = shop
    models = await sdk.models.list()
    assert [m.id for m in models.data] == [bot["id"]]
    assert models.data[0].owned_by == "chatsphere"


async def test_a_completion_answers_with_citations(sdk, shop, live_client):
    owner, bot, _, _ = shop
    completion = await sdk.chat.completions.create(
        model=bot["slug"],
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "How many days do I have for a refund?"},
        ],
    )
    message = completion.choices[0].message
    assert "30 days" in message.content and "[1]" in message.content
    [source] = message.model_extra["chatsphere"]["sources"]
    assert source["document_name"] == "refunds" and source["number"] == 1
    assert completion.usage.completion_tokens > 0 and completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    # Stored and counted like any turn.
    conversations = (
        await live_client.get(f"{API}/bots/{bot['id']}/conversations", headers=owner)
    ).json()["items"]
    assert conversations[0]["message_count"] == 2
    usage = (await live_client.get(f"{API}/billing/subscription", headers=owner)).json()
    assert usage["usage"]["messages"]["used"] == 1


async def test_a_streamed_completion_ends_with_citations_and_done(sdk, shop):
    _, bot, _, _ = shop
    stream = await sdk.chat.completions.create(
        model=bot["id"],
        messages=[{"role": "user", "content": "How many days do I have for a refund?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "30 days" in text
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finals) == 1
    assert finals[0].model_extra["chatsphere"]["sources"][0]["document_name"] == "refunds"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_the_wire_format_of_a_stream(live_runtime, shop):
    _, bot, _, key = shop
    app = create_app(runtime=live_runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(
            f"{API}/openai/chat/completions",
            json={"model": bot["id"], "stream": True,
                  "messages": [{"role": "user", "content": "refund days?"}]},
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in r.text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    assert all(b.startswith("data: ") for b in blocks)
    assert blocks[-1] == "data: [DONE]"
    first = json.loads(blocks[0][6:])
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}


async def test_errors_come_in_openais_shape(sdk, shop, live_client):
    owner, _, other, _ = shop
    with pytest.raises(openai.NotFoundError) as missing:  # a bot the key may not use
        await sdk.chat.completions.create(
            model=other["id"], messages=[{"role": "user", "content": "hi"}]
        )
    error = missing.value.body
    assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError):  # no question at the end
        await sdk.chat.completions.create(
            model=shop[1]["id"],
            messages=[{"role": "assistant", "content": "hello"}],
        )
    with pytest.raises(openai.AuthenticationError):
        bad = openai.AsyncOpenAI(api_key="cs_wrong", base_url=str(sdk.base_url),
                                 http_client=sdk._client)  # fmt: skip
        await bad.models.list()
    await live_client.patch(f"{API}/bots/{shop[1]['id']}", json={"is_active": False}, headers=owner)
    with pytest.raises(openai.ConflictError) as inactive:
        await sdk.chat.completions.create(
            model=shop[1]["id"], messages=[{"role": "user", "content": "hi"}]
        )
    assert inactive.value.body["code"] == "bot_inactive"


async def test_a_key_without_the_chat_scope_cannot_complete(live_client, live_runtime, shop):
    owner, bot, _, _ = shop
    key = (
        await live_client.post(f"{API}/api-keys", json={"name": "r", "scopes": ["read"]},
                               headers=owner)
    ).json()["key"]  # fmt: skip
    app = create_app(runtime=live_runtime)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    reader = openai.AsyncOpenAI(api_key=key, base_url="http://t/api/v1/openai", http_client=http)
    assert [m.id for m in (await reader.models.list()).data]
    with pytest.raises(openai.PermissionDeniedError):
        await reader.chat.completions.create(
            model=bot["id"], messages=[{"role": "user", "content": "hi"}]
        )
