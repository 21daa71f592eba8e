from __future__ import annotations

import os
import socket
import time

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.embeddings.base import Embedder
from agent.embeddings.cache import CachedEmbedder, RedisKeyValueCache, SqlKeyValueCache
from agent.embeddings.gemini import GeminiEmbedder
from agent.embeddings.local import LocalEmbedder
from agent.errors import PermanentError, TransientError
from agent.types import EmbeddingTask, VectorRecord
from agent.vectorstores.local import LocalVectorStore
from tests.agent.bm25 import BM25
from tests.agent.retrieval_set import PASSAGES, QUESTIONS
from tests.fakes.gemini_embed import FakeGeminiEmbeddings
from tests.fakes.server import FakeServer

DOC, QUERY = EmbeddingTask.DOCUMENT, EmbeddingTask.QUERY


# --- local embedder ---------------------------------------------------------------------


async def test_local_vectors_are_deterministic_and_unit_length() -> None:
    embedder = LocalEmbedder(dimensions=256)
    assert isinstance(embedder, Embedder)
    texts = ["Reset your password from the sign-in page.", "Invoices are emailed monthly.", ""]
    first = await embedder.embed(texts, DOC)
    assert first == await LocalEmbedder(dimensions=256).embed(texts, DOC)
    assert [len(v) for v in first] == [256, 256, 256]
    assert np.allclose(np.linalg.norm(first[:2], axis=1), 1.0, atol=1e-5)
    assert not any(first[2])  # nothing to say about an empty text


async def test_local_embedder_matches_word_forms() -> None:
    embedder = LocalEmbedder()
    query, related, unrelated = await embedder.embed(
        [
            "cancelling my subscriptions",
            "How to cancel a subscription",
            "Uploading images to the gallery",
        ],
        DOC,
    )
    assert np.dot(query, related) > 0.5 > np.dot(query, unrelated)


async def test_local_retrieval_is_at_least_as_good_as_bm25(engine: AsyncEngine) -> None:
    ids = list(PASSAGES)
    texts = [PASSAGES[i] for i in ids]
    embedder, store = LocalEmbedder(), LocalVectorStore(engine)
    vectors = await embedder.embed(texts, DOC)
    await store.upsert("eval", [VectorRecord(i, v) for i, v in zip(ids, vectors, strict=True)])
    bm25 = BM25(texts)

    local_hits = bm25_hits = 0
    for question, answer in QUESTIONS:
        [query] = await embedder.embed([question], QUERY)
        local_hits += answer in [m.id for m in await store.query("eval", query, 3)]
        bm25_hits += answer in [ids[i] for i in bm25.top_k(question, 3)]
    local_recall, bm25_recall = local_hits / len(QUESTIONS), bm25_hits / len(QUESTIONS)
    print(f"recall@3 local={local_recall:.3f} bm25={bm25_recall:.3f}")
    assert local_recall >= bm25_recall


# --- cache ------------------------------------------------------------------------------


class CountingEmbedder:
    provider, model, dimensions = "counting", "v1", 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def embed(self, texts, task):
        self.calls.append(list(texts))
        return [[float(len(t)), 1.0, 0.0, 0.0] for t in texts]


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.get_calls = 0

    async def get_many(self, keys):
        self.get_calls += 1
        return [self.data.get(k) for k in keys]

    async def set_many(self, items):
        self.data.update(items)


async def test_cache_embeds_only_misses_in_one_call() -> None:
    inner, cache = CountingEmbedder(), DictCache()
    embedder = CachedEmbedder(inner, cache)
    first = await embedder.embed(["a", "bb", "a"], DOC)
    second = await embedder.embed(["bb", "ccc", "a"], DOC)
    assert inner.calls == [["a", "bb"], ["ccc"]]
    assert cache.get_calls == 2
    assert first == [[1.0, 1.0, 0.0, 0.0], [2.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    assert second[0] == first[1] and second[2] == first[0]
    assert (embedder.hits, embedder.misses) == (2, 3)


async def test_tasks_outside_the_cache_go_straight_to_the_embedder() -> None:
    inner, cache = CountingEmbedder(), DictCache()
    embedder = CachedEmbedder(inner, cache, tasks=frozenset({DOC}))
    await embedder.embed(["q"], QUERY)
    await embedder.embed(["q"], QUERY)
    assert inner.calls == [["q"], ["q"]] and cache.get_calls == 0 and cache.data == {}


async def test_cache_key_separates_task_model_and_dimensions() -> None:
    embedder = CachedEmbedder(CountingEmbedder(), DictCache())
    keys = {embedder.key("text", DOC), embedder.key("text", QUERY), embedder.key("other", DOC)}
    other_model = CountingEmbedder()
    other_model.model = "v2"
    keys.add(CachedEmbedder(other_model, DictCache()).key("text", DOC))
    assert len(keys) == 4 and all(len(k) == 64 for k in keys)


async def test_cache_outage_falls_back_to_embedding() -> None:
    class BrokenCache:
        async def get_many(self, keys):
            raise ConnectionError("cache down")

        async def set_many(self, items):
            raise ConnectionError("cache down")

    inner = CountingEmbedder()
    assert await CachedEmbedder(inner, BrokenCache()).embed(["x"], DOC) == [[1.0, 1.0, 0.0, 0.0]]


async def test_sql_cache_survives_a_new_process(engine: AsyncEngine) -> None:
    texts = [f"passage {i}" for i in range(700)]  # more keys than one IN (...) batch
    first = CachedEmbedder(LocalEmbedder(), SqlKeyValueCache(engine))
    vectors = await first.embed(texts, DOC)
    await first.embed(texts[:10], DOC)  # storing the same keys again is harmless

    inner = CountingEmbedder()
    inner.provider, inner.model, inner.dimensions = "local", "local-hash-v1", 1024
    again = CachedEmbedder(inner, SqlKeyValueCache(engine))
    assert np.allclose(await again.embed(texts, DOC), vectors, atol=1e-6)
    assert inner.calls == [] and again.hits == 700


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL not set")
async def test_redis_cache_round_trip() -> None:
    cache = RedisKeyValueCache(os.environ["TEST_REDIS_URL"], prefix=f"test-emb-{time.time_ns()}:")
    try:
        await cache.set_many({"a": b"\x00\x01", "b": b"\x02"})
        assert await cache.get_many(["a", "missing", "b"]) == [b"\x00\x01", None, b"\x02"]
    finally:
        await cache.close()


# --- Gemini -----------------------------------------------------------------------------


def _gemini(server: FakeServer, **overrides) -> GeminiEmbedder:
    options = {"retry_initial_seconds": 0.01, "retry_max_seconds": 0.05, "max_attempts": 4}
    return GeminiEmbedder(
        api_key="test-key", base_url=server.url, dimensions=768, **(options | overrides)
    )


async def test_gemini_batches_by_100_and_normalises(fake_server: FakeServer) -> None:
    fake = FakeGeminiEmbeddings(fake_server)
    texts = [f"chunk {i}" for i in range(250)]
    vectors = await _gemini(fake_server).embed(texts, DOC)
    assert fake.batch_sizes == [100, 100, 50]
    assert fake.texts == texts and set(fake.task_types) == {"RETRIEVAL_DOCUMENT"}
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert fake_server.requests[0].headers["x-goog-api-key"] == "test-key"


async def test_gemini_query_task_type(fake_server: FakeServer) -> None:
    fake = FakeGeminiEmbeddings(fake_server)
    await _gemini(fake_server).embed(["what is the refund policy?"], QUERY)
    assert fake.task_types == ["RETRIEVAL_QUERY"]


async def test_gemini_retries_rate_limits(fake_server: FakeServer) -> None:
    fake = FakeGeminiEmbeddings(fake_server)
    fake.fail_next(2, status=429)
    vectors = await _gemini(fake_server).embed(["hello"], DOC)
    assert len(vectors) == 1 and fake.calls == 3


async def test_gemini_gives_up_quickly_with_a_transient_error(fake_server: FakeServer) -> None:
    fake = FakeGeminiEmbeddings(fake_server)
    fake.fail_always(status=500)
    started = time.monotonic()
    with pytest.raises(TransientError):
        await _gemini(fake_server).embed(["hello"], DOC)
    assert fake.calls == 4 and time.monotonic() - started < 5


async def test_gemini_connection_refused_is_transient() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(TransientError):
        await GeminiEmbedder(
            api_key="k", base_url=url, max_attempts=2, retry_initial_seconds=0.01
        ).embed(["x"], DOC)


async def test_gemini_bad_request_is_permanent_and_not_retried(fake_server: FakeServer) -> None:
    fake = FakeGeminiEmbeddings(fake_server)
    fake.fail_always(status=400)
    with pytest.raises(PermanentError) as caught:
        await _gemini(fake_server).embed(["hello"], DOC)
    assert not isinstance(caught.value, TransientError) and fake.calls == 1
