"""Chat test helpers: bots, conversations, indexed documents, SSE parsing, a fake Gemini."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.runtime import Runtime
from app.documents.ingest import process_queued
from tests.fakes.gemini_chat import FakeGeminiChat
from tests.fakes.gemini_embed import FakeGeminiEmbeddings
from tests.fakes.server import FakeServer

API = "/api/v1"
LLM_TIMEOUT_SECONDS = 0.5


async def create_bot(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict:
    r = await client.post(f"{API}/bots", json={"name": "Support", **fields}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def start_conversation(
    client: httpx.AsyncClient, headers: dict[str, str], bot_id: str, **fields: Any
) -> dict:
    r = await client.post(f"{API}/bots/{bot_id}/conversations", json=fields, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def ask(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    conversation_id: str,
    content: str,
    **fields: Any,
) -> httpx.Response:
    body = {"content": content, **fields}
    return await client.post(
        f"{API}/conversations/{conversation_id}/messages", json=body, headers=headers
    )


async def history(client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str) -> list:
    r = await client.get(f"{API}/conversations/{conversation_id}/messages", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def add_document(
    client: httpx.AsyncClient,
    runtime: Runtime,
    headers: dict[str, str],
    bot_id: str,
    title: str,
    content: str,
) -> str:
    """Upload pasted text through the API and ingest it in-process, as a worker would."""
    r = await client.post(
        f"{API}/bots/{bot_id}/documents/text",
        json={"title": title, "content": content},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    document_id = r.json()["id"]
    assert document_id in await process_queued(runtime)
    r = await client.get(f"{API}/documents/{document_id}", headers=headers)
    assert r.json()["status"] == "ready", r.json()
    return document_id


def parse_sse(body: str) -> list[tuple[str, Any]]:
    """(event, decoded JSON data) for each event of a text/event-stream body."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


@pytest.fixture(scope="session")
def _gemini_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(scope="session")
def _gemini_fakes(_gemini_server: FakeServer) -> tuple[FakeGeminiChat, FakeGeminiEmbeddings]:
    return FakeGeminiChat(_gemini_server), FakeGeminiEmbeddings(_gemini_server)


@pytest.fixture
def gemini(_gemini_fakes: tuple[FakeGeminiChat, FakeGeminiEmbeddings]) -> FakeGeminiChat:
    chat, embeddings = _gemini_fakes
    chat.reset()
    embeddings.recover()
    return chat


@pytest.fixture
def gemini_settings(settings: Settings, gemini: FakeGeminiChat) -> Settings:
    """The app configured for Gemini (answers and embeddings) at the fake server."""
    settings.agent.gemini_api_key = "test-key"
    settings.agent.gemini_base_url = gemini.server.url
    settings.agent.llm_timeout_seconds = LLM_TIMEOUT_SECONDS
    return settings
