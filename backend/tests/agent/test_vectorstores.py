from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.errors import EmbeddingModelMismatch, PermanentError, TransientError
from agent.types import VectorRecord
from agent.vectorstores.base import VectorStore
from agent.vectorstores.local import LocalVectorStore
from agent.vectorstores.pinecone import PineconeVectorStore
from tests.fakes.pinecone import FakePineconeIndex
from tests.fakes.server import FakeServer


def _unit(seed: int, dims: int = 8) -> list[float]:
    v = np.random.default_rng(seed).standard_normal(dims)
    return (v / np.linalg.norm(v)).tolist()


def _records(n: int, dims: int = 8, prefix: str = "doc") -> list[VectorRecord]:
    return [VectorRecord(f"{prefix}:{i}", _unit(i, dims), {"chunk": i}) for i in range(n)]


# --- local store ------------------------------------------------------------------------


async def test_local_query_returns_best_matches_first(engine: AsyncEngine) -> None:
    store = LocalVectorStore(engine)
    assert isinstance(store, VectorStore)
    await store.upsert("bot-1", _records(50))
    matches = await store.query("bot-1", _unit(7), top_k=3)
    assert matches[0].id == "doc:7" and matches[0].score == pytest.approx(1.0, abs=1e-5)
    assert matches[0].metadata == {"chunk": 7}
    assert len(matches) == 3 and matches[0].score >= matches[1].score >= matches[2].score


async def test_local_namespaces_are_isolated(engine: AsyncEngine) -> None:
    store = LocalVectorStore(engine)
    await store.upsert("bot-1", _records(5))
    assert await store.query("bot-2", _unit(1), top_k=3) == []


async def test_local_upsert_by_id_is_idempotent(engine: AsyncEngine) -> None:
    store = LocalVectorStore(engine)
    await store.upsert("bot-1", _records(10))
    await store.upsert("bot-1", _records(10))  # a re-run task writes the same ids again
    await store.upsert("bot-1", [VectorRecord("doc:3", _unit(99), {"chunk": "new"})])
    matches = await store.query("bot-1", _unit(99), top_k=20)
    assert len(matches) == 10
    assert matches[0].id == "doc:3" and matches[0].metadata == {"chunk": "new"}


async def test_local_delete_and_delete_namespace(engine: AsyncEngine) -> None:
    store = LocalVectorStore(engine)
    await store.upsert("bot-1", _records(10))
    await store.delete("bot-1", ["doc:0", "doc:1", "missing"])
    assert {m.id for m in await store.query("bot-1", _unit(0), top_k=20)} == {
        f"doc:{i}" for i in range(2, 10)
    }
    await store.delete_namespace("bot-1")
    assert await store.query("bot-1", _unit(0), top_k=5) == []
    await store.upsert("bot-1", _records(2))  # the namespace can be used again afterwards
    assert len(await store.query("bot-1", _unit(0), top_k=5)) == 2


async def test_local_query_sees_writes_from_another_process(engine: AsyncEngine) -> None:
    api, worker = LocalVectorStore(engine), LocalVectorStore(engine)  # separate caches
    await worker.upsert("bot-1", _records(3))
    assert len(await api.query("bot-1", _unit(0), top_k=10)) == 3
    await worker.upsert("bot-1", _records(3, prefix="more"))
    assert len(await api.query("bot-1", _unit(0), top_k=10)) == 6
    await worker.delete_namespace("bot-1")
    assert await api.query("bot-1", _unit(0), top_k=10) == []


async def test_local_query_with_other_dimensions_is_refused(engine: AsyncEngine) -> None:
    store = LocalVectorStore(engine)
    await store.upsert("bot-1", _records(3, dims=8))
    with pytest.raises(EmbeddingModelMismatch):
        await store.query("bot-1", _unit(1, dims=16), top_k=3)


async def test_local_sparse_queries_rank_rare_words_higher_but_report_cosine(
    engine: AsyncEngine,
) -> None:
    # Bucket 0 is in every document (a common word), bucket 1 in one (a rare word).
    dims = 64
    common_only = np.zeros(dims)
    common_only[[0, 10]] = [1.0, 0.3]
    rare_only = np.zeros(dims)
    rare_only[[1, 11]] = [1.0, 0.3]
    fillers = []
    for i in range(20):
        v = np.zeros(dims)
        v[[0, 20 + i]] = [1.0, 1.0]
        fillers.append(VectorRecord(f"filler:{i}", v.tolist()))
    store = LocalVectorStore(engine)
    await store.upsert(
        "bot-1",
        [
            VectorRecord("common", common_only.tolist()),
            VectorRecord("rare", rare_only.tolist()),
            *fillers,
        ],
    )
    query = np.zeros(dims)
    query[[0, 1]] = [1.0, 0.9]  # leans towards the common word, but the rare one matters more
    matches = await store.query("bot-1", query.tolist(), top_k=2)
    assert [m.id for m in matches] == ["rare", "common"]
    expected = float(query @ rare_only / np.linalg.norm(query) / np.linalg.norm(rare_only))
    assert matches[0].score == pytest.approx(expected, abs=1e-5)


def _selected_vector_rows(engine: AsyncEngine) -> tuple[list[str], object]:
    """Statements that read `agent_vectors` rows, recorded while the listener is on."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if "FROM agent_vectors" in statement and statement.lstrip().startswith("SELECT"):
            seen.append(statement)

    return seen, record


async def test_a_stale_matrix_reloads_only_the_changed_rows(engine: AsyncEngine) -> None:
    from sqlalchemy import event

    api, worker = LocalVectorStore(engine), LocalVectorStore(engine)
    await worker.upsert("bot-1", _records(400))
    probe = _unit(7)
    assert (await api.query("bot-1", probe, top_k=3))[0].id == "doc:7"  # full load, cached

    # The worker rewrites one chunk, adds two and deletes one: three versions later...
    await worker.upsert("bot-1", [VectorRecord("doc:7", _unit(1000), {"chunk": "moved"})])
    await worker.upsert("bot-1", _records(2, prefix="new"))
    await worker.delete("bot-1", ["doc:8"])
    statements, record = _selected_vector_rows(engine)
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        hits = await api.query("bot-1", _unit(1000), top_k=401)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    # ...and the API reads those four ids' rows, not the whole namespace.
    assert len(statements) == 1 and " IN " in statements[0], statements

    fresh = await LocalVectorStore(engine).query("bot-1", _unit(1000), top_k=401)
    assert [h.id for h in hits] == [h.id for h in fresh]
    assert [h.metadata for h in hits] == [h.metadata for h in fresh]
    assert [h.score for h in hits] == pytest.approx([h.score for h in fresh], abs=1e-5)
    assert hits[0].id == "doc:7" and hits[0].metadata == {"chunk": "moved"}
    assert "doc:8" not in {h.id for h in hits} and {"new:0", "new:1"} <= {h.id for h in hits}


async def test_a_matrix_far_behind_the_change_log_reloads_whole(engine: AsyncEngine) -> None:
    from agent.storage import CHANGE_LOG_VERSIONS

    api, worker = LocalVectorStore(engine), LocalVectorStore(engine)
    await worker.upsert("bot-1", _records(5))
    assert len(await api.query("bot-1", _unit(0), top_k=50)) == 5
    for n in range(CHANGE_LOG_VERSIONS + 2):
        await worker.upsert("bot-1", [VectorRecord(f"late:{n}", _unit(500 + n))])
    hits = await api.query("bot-1", _unit(0), top_k=500)
    assert len(hits) == 5 + CHANGE_LOG_VERSIONS + 2


async def test_the_matrix_cache_keeps_to_its_memory_budget(engine: AsyncEngine) -> None:
    one_bot = 100 * 8 * 4  # 100 vectors of 8 float32
    store = LocalVectorStore(engine, max_cache_bytes=2 * one_bot)
    for bot in ("a", "b", "c"):
        await store.upsert(bot, _records(100))
        await store.query(bot, _unit(0), top_k=1)
    assert list(store._cache) == ["b", "c"]  # the least recently used went first
    await store.query("b", _unit(0), top_k=1)
    await store.upsert("d", _records(100))
    await store.query("d", _unit(0), top_k=1)
    assert list(store._cache) == ["b", "d"]


async def test_local_ping(engine: AsyncEngine) -> None:
    await LocalVectorStore(engine).ping()


# --- Pinecone ---------------------------------------------------------------------------


@pytest.fixture
def fast_sdk_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK retries 429/5xx itself with real sleeps; skip the sleeping in tests."""

    async def no_sleep(delay: float) -> None:
        return None

    monkeypatch.setattr("pinecone._internal.http_client._async_retry_sleep", no_sleep)


@pytest.fixture
def pinecone(
    fake_server: FakeServer, fast_sdk_retries: None
) -> tuple[PineconeVectorStore, FakePineconeIndex]:
    fake = FakePineconeIndex(fake_server, dimension=8)
    return PineconeVectorStore(
        api_key="pc-test", index_host=fake_server.url, timeout_seconds=5
    ), fake


async def test_pinecone_round_trip(pinecone) -> None:
    store, fake = pinecone
    assert isinstance(store, VectorStore)
    await store.upsert("bot-1", _records(20))
    matches = await store.query("bot-1", _unit(4), top_k=3)
    assert matches[0].id == "doc:4" and matches[0].metadata == {"chunk": 4}
    assert matches[0].score == pytest.approx(1.0, abs=1e-6)
    await store.delete("bot-1", ["doc:4"])
    assert (await store.query("bot-1", _unit(4), top_k=1))[0].id != "doc:4"
    await store.ping()


async def test_pinecone_upserts_at_most_1000_vectors_per_request(pinecone) -> None:
    store, fake = pinecone
    await store.upsert("bot-1", _records(2500))
    assert [len(body["vectors"]) for body in fake.upsert_bodies] == [1000, 1000, 500]
    assert all(body["namespace"] == "bot-1" for body in fake.upsert_bodies)
    assert len(fake.namespaces["bot-1"]) == 2500


async def test_pinecone_requests_stay_under_2mb(pinecone, fake_server: FakeServer) -> None:
    store, fake = pinecone
    fake.dimension = 768
    await store.upsert("bot-1", _records(1000, dims=768))
    assert len(fake.upsert_bodies) > 1
    assert all(len(r.body) <= 2 * 1024 * 1024 for r in fake_server.requests_to("/vectors/upsert"))


async def test_pinecone_metadata_stays_small(pinecone) -> None:
    store, fake = pinecone
    metadata = {
        "document_id": "d1",
        "page": 3,
        "heading": None,
        "text": "x" * 100_000,
        "tags": ["a", "b"],
    }
    await store.upsert("bot-1", [VectorRecord("d1:0", _unit(0), metadata)])
    stored = fake.upsert_bodies[0]["vectors"][0]["metadata"]
    assert stored["document_id"] == "d1" and stored["page"] == 3 and stored["tags"] == ["a", "b"]
    assert "heading" not in stored  # Pinecone rejects nulls
    assert len(json.dumps(stored)) <= 40 * 1024


async def test_pinecone_delete_namespace_tolerates_missing_namespace(pinecone) -> None:
    store, fake = pinecone
    await store.upsert("bot-1", _records(3))
    await store.delete_namespace("bot-1")
    await store.delete_namespace("never-written")
    assert "bot-1" not in fake.namespaces


async def test_pinecone_rate_limit_is_retried(pinecone) -> None:
    store, fake = pinecone
    fake.fail_next(2, status=429)
    await store.upsert("bot-1", _records(3))
    assert len(fake.namespaces["bot-1"]) == 3


@pytest.mark.parametrize("status", [429, 503])
async def test_pinecone_persistent_outage_is_transient(pinecone, status: int) -> None:
    store, fake = pinecone
    fake.fail_always(status=status)
    with pytest.raises(TransientError):
        await store.query("bot-1", _unit(0), top_k=3)


async def test_pinecone_bad_request_is_permanent(pinecone) -> None:
    store, fake = pinecone
    fake.fail_always(status=400)
    with pytest.raises(PermanentError) as caught:
        await store.upsert("bot-1", _records(1))
    assert not isinstance(caught.value, TransientError)


def test_matrix_changes_match_a_full_rebuild() -> None:
    """Rewrites, additions and deletions applied in place give the same rows, IDF and
    rankings as building the matrix from scratch."""
    from agent.embeddings.local import LocalEmbedder
    from agent.vectorstores._matrix import VectorMatrix

    embedder = LocalEmbedder()
    texts = [f"chunk {i} about topic {i % 7} and item {i * 13 % 31}" for i in range(60)]
    ids = [f"d:{i:03d}" for i in range(60)]
    matrix = VectorMatrix(list(ids), [{"n": i} for i in range(60)], embedder.embed_array(texts))

    rewritten = {"d:003": "refund policy for digital goods", "d:010": "shipping to norway"}
    added = {"d:100": "opening hours on public holidays", "d:101": "password reset steps"}
    changed = {*rewritten, *added, "d:020", "d:021"}  # the last two were deleted
    new_ids = [*rewritten, *added]
    matrix = matrix.with_changes(
        changed,
        new_ids,
        [{"new": i} for i in new_ids],
        embedder.embed_array([*rewritten.values(), *added.values()]),
    )

    final = {i: t for i, t in zip(ids, texts, strict=True) if i not in changed}
    final |= rewritten | added
    order = list(matrix.ids)
    assert sorted(order) == sorted(final)
    fresh = VectorMatrix(order, [{}] * len(order), embedder.embed_array([final[i] for i in order]))
    np.testing.assert_allclose(matrix._by_dim, fresh._by_dim, atol=1e-6)
    np.testing.assert_array_equal(matrix._df_pos, fresh._df_pos)
    np.testing.assert_array_equal(matrix._df_neg, fresh._df_neg)
    assert matrix.metadata[order.index("d:100")] == {"new": "d:100"}
    query = embedder.embed_array(["how do I reset my password"])[0]
    assert [h.position for h in matrix.search(query, 5)] == [
        h.position for h in fresh.search(query, 5)
    ]
    assert order[matrix.search(query, 1)[0].position] == "d:101"
