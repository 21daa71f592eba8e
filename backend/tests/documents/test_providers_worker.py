"""Ingestion on Gemini embeddings and Pinecone, through their official SDKs, in a real worker.

Both providers are fake HTTP servers started here; the worker's SDKs are pointed at them
with GEMINI_BASE_URL and PINECONE_INDEX_HOST.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from app.documents.ingest import EMBED_BATCH
from tests.documents.conftest import start_worker
from tests.documents.helpers import BOTS, DOCS, add_text, create_bot
from tests.documents.worker import assert_ready, sending_to, wait_for
from tests.fakes.gemini_embed import FakeGeminiEmbeddings
from tests.fakes.pinecone import FakePineconeIndex
from tests.fakes.server import FakeResponse, FakeServer

pytestmark = pytest.mark.worker


class FlakyPinecone(FakePineconeIndex):
    """Pinecone whose upserts start failing after a number of successful ones."""

    upserts_before_failing: int | None = None

    def _upsert(self, body):
        if self.upserts_before_failing is not None:
            if self.upserts_before_failing <= 0:
                return FakeResponse.json({"code": 13, "message": "internal error"}, 500)
            self.upserts_before_failing -= 1
        return super()._upsert(body)


class FlakyGemini(FakeGeminiEmbeddings):
    """Gemini that answers a number of requests, then 500 forever."""

    successes_before_failing: int | None = None

    def next_failure(self):
        if self.successes_before_failing is not None:
            if self.successes_before_failing <= 0:
                return FakeResponse.json({"error": {"code": 500, "message": "internal"}}, 500)
            self.successes_before_failing -= 1
        return super().next_failure()


@pytest.fixture(scope="module")
def fakes():
    with FakeServer() as gemini_server, FakeServer() as pinecone_server:
        yield FlakyGemini(gemini_server), FlakyPinecone(pinecone_server)


@pytest.fixture(scope="module")
def provider_worker(tmp_path_factory, database_url, broker_url, fakes):
    gemini, pinecone = fakes
    env = {
        "GEMINI_API_KEY": "test-key",
        "GEMINI_BASE_URL": gemini.server.url,
        "PINECONE_API_KEY": "test-key",
        "PINECONE_INDEX_HOST": pinecone.server.url,
    }
    worker = start_worker(tmp_path_factory, database_url, broker_url, env=env)
    yield worker
    worker.stop()


@pytest.fixture
def providers(provider_worker, fakes, settings, live_runtime):
    gemini, pinecone = fakes
    for fake in fakes:
        fake.recover()
    gemini.successes_before_failing = None
    pinecone.upserts_before_failing = None
    settings.data_dir = provider_worker.data_dir
    settings.agent.gemini_api_key, settings.agent.gemini_base_url = "test-key", gemini.server.url
    settings.agent.pinecone_api_key = "test-key"
    settings.agent.pinecone_index_host = pinecone.server.url
    with sending_to(live_runtime, provider_worker.broker_url, provider_worker.queue):
        yield gemini, pinecone, provider_worker


def long_text(paragraphs: int, seed: str) -> str:
    """Distinct paragraphs, enough for several embedding batches."""
    return "\n\n".join(
        f"Section {i} of the {seed} handbook. "
        + " ".join(f"{seed}{i}term{j}" for j in range(170))
        + "."
        for i in range(paragraphs)
    )


async def _statuses_until_settled(client, headers, document_id: str) -> list[str]:
    """Each status the document shows, in order, until it is ready or failed (bounded)."""
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = await client.get(f"/api/v1/documents/{document_id}", headers=headers)
        status = r.json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("ready", "failed"):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"not settled: {seen}")


async def test_gemini_and_pinecone_429_then_success_end_ready(
    providers, live_client, make_live_user
):
    gemini, pinecone, worker = providers
    gemini.fail_next(2, status=429)
    pinecone.fail_next(1, status=429)
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    created = (
        await add_text(live_client, owner, bot["id"], "Refunds take five business days.")
    ).json()
    doc = await wait_for(live_client, owner, created["id"], worker=worker)
    assert_ready(doc, worker)
    assert gemini.calls >= 3
    space = pinecone.namespaces[bot["id"]]
    assert sorted(space) == [f"{doc['id']}:{i}" for i in range(doc["chunk_count"])]
    assert all(len(values) == 768 for values, _ in space.values())
    assert space[f"{doc['id']}:0"][1] == {
        "document_id": doc["id"],
        "chunk_index": 0,
        "bot_id": bot["id"],
    }

    bot_now = (await live_client.get(f"{BOTS}/{bot['id']}", headers=owner)).json()
    assert bot_now["embedding_model"] == "gemini-embedding-001"
    r = await live_client.post(
        f"{BOTS}/{bot['id']}/search", json={"query": "refunds"}, headers=owner
    )
    assert r.status_code == 200, r.text
    hit = r.json()["items"][0]
    assert hit["document_id"] == doc["id"]
    # Hybrid on Gemini and Pinecone too: found by Pinecone's query and by the keyword index.
    assert hit["lexical_rank"] == 1 and hit["dense_score"] is not None
    assert hit["fused_score"] == pytest.approx(1 / 61 + 1 / 61, abs=1e-6)


async def test_gemini_failing_forever_fails_the_document_without_partial_vectors(
    providers, live_client, make_live_user
):
    gemini, pinecone, worker = providers
    gemini.successes_before_failing = 1  # the first batch is indexed, then 500 forever
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    text = long_text(EMBED_BATCH + 40, "gemfail")
    created = (await add_text(live_client, owner, bot["id"], text)).json()
    seen = await _statuses_until_settled(live_client, owner, created["id"])
    # Retries wait out their backoff in `processing`: SPEC's lifecycle never goes back.
    assert seen[-1] == "failed" and "processing" in seen, seen
    assert seen == sorted(seen, key=["queued", "processing", "failed"].index), seen
    doc = await wait_for(live_client, owner, created["id"], timeout=120, worker=worker)
    assert doc["status"] == "failed", doc
    assert "embedding provider" in doc["error"] and "gave up" in doc["error"]
    assert doc["chunk_count"] == 0
    assert len(pinecone.upsert_bodies) >= 1  # a batch had been indexed before the failure
    assert not pinecone.namespaces.get(bot["id"])
    chunks = (await live_client.get(f"{DOCS}/{doc['id']}/chunks", headers=owner)).json()
    assert chunks["total"] == 0


async def test_pinecone_failing_forever_fails_the_document_without_partial_vectors(
    providers, live_client, make_live_user
):
    gemini, pinecone, worker = providers
    pinecone.upserts_before_failing = 1
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    created = (
        await add_text(live_client, owner, bot["id"], long_text(EMBED_BATCH + 10, "pcfail"))
    ).json()
    doc = await wait_for(live_client, owner, created["id"], timeout=180, worker=worker)
    assert doc["status"] == "failed", doc
    assert "vector store" in doc["error"]
    assert not pinecone.namespaces.get(bot["id"])


async def test_reingesting_identical_text_makes_no_embedding_calls(
    providers, live_client, make_live_user
):
    gemini, pinecone, worker = providers
    owner = await make_live_user()
    first_bot = await create_bot(live_client, owner)
    text = long_text(30, "cached")
    first = (await add_text(live_client, owner, first_bot["id"], text)).json()
    doc = await wait_for(live_client, owner, first["id"], worker=worker)
    assert_ready(doc, worker)
    calls = gemini.calls
    assert calls > 0

    # The same content in another bot, and a reindex of the first: no embedding call at all.
    second_bot = await create_bot(live_client, owner, name="Second")
    second = (await add_text(live_client, owner, second_bot["id"], text)).json()
    assert_ready(await wait_for(live_client, owner, second["id"], worker=worker), worker)
    assert (
        await live_client.post(f"{DOCS}/{first['id']}/reindex", headers=owner)
    ).status_code == 202
    again = await wait_for(live_client, owner, first["id"], worker=worker)
    assert_ready(again, worker)
    assert again["chunk_count"] == doc["chunk_count"]
    assert gemini.calls == calls
    assert len(pinecone.namespaces[second_bot["id"]]) == doc["chunk_count"]


async def test_deleting_a_document_removes_its_pinecone_vectors(
    providers, live_client, make_live_user
):
    gemini, pinecone, worker = providers
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    created = (await add_text(live_client, owner, bot["id"], long_text(5, "deleted"))).json()
    assert_ready(await wait_for(live_client, owner, created["id"], worker=worker), worker)
    assert pinecone.namespaces[bot["id"]]
    assert (await live_client.delete(f"{DOCS}/{created['id']}", headers=owner)).status_code == 204
    deadline = time.monotonic() + 30
    while pinecone.namespaces[bot["id"]] and time.monotonic() < deadline:  # noqa: ASYNC110 - polls state in another process
        await asyncio.sleep(0.1)
    assert pinecone.namespaces[bot["id"]] == {}
