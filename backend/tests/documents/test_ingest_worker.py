"""Ingestion through a real Celery worker on the embedded defaults (local embedder and store)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from agent import storage as agent_storage
from app.bots.models import Bot
from app.core.db import utcnow
from app.documents import ingest
from app.documents.models import Document, DocumentChunk
from tests.documents.helpers import BOTS, CORPUS, DOCS, add_text, create_bot, upload
from tests.documents.worker import assert_ready, sending_to, wait_for

pytestmark = pytest.mark.worker

REFUNDS = """# Refunds

Refunds are issued to the original payment method within five business days.
Digital goods can be refunded within 14 days if they were not downloaded.

# Shipping

We ship to 40 countries. Orders over 50 euros ship free. Express delivery takes two days.
"""


async def vector_ids(engine, bot_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(agent_storage.vectors.c.id).where(agent_storage.vectors.c.namespace == bot_id)
        )
        return sorted(r.id for r in rows)


def expected_ids(document_id: str, count: int) -> list[str]:
    return sorted(f"{document_id}:{i}" for i in range(count))


async def test_pasted_text_becomes_ready_and_searchable(
    on_worker, live_client, make_live_user, engine
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    created = await add_text(live_client, owner, bot["id"], REFUNDS, title="Policies")
    assert created.status_code == 202
    doc = await wait_for(live_client, owner, created.json()["id"], worker=on_worker)
    assert_ready(doc, on_worker)
    assert doc["progress"] == 100 and doc["error"] is None
    assert doc["chunk_count"] >= 2 and doc["page_count"] == 1
    assert await vector_ids(engine, bot["id"]) == expected_ids(doc["id"], doc["chunk_count"])

    chunks = (await live_client.get(f"{DOCS}/{doc['id']}/chunks", headers=owner)).json()
    assert chunks["total"] == doc["chunk_count"]
    assert [c["chunk_index"] for c in chunks["items"]] == list(range(doc["chunk_count"]))

    r = await live_client.post(
        f"{BOTS}/{bot['id']}/search",
        json={"query": "how long do refunds take", "top_k": 3},
        headers=owner,
    )
    assert r.status_code == 200, r.text
    hits = r.json()["items"]
    assert hits and "five business days" in hits[0]["text"]
    assert hits[0]["document_name"] == "Policies" and hits[0]["document_id"] == doc["id"]
    assert {h["chunk_id"] for h in hits} <= {c["id"] for c in chunks["items"]}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    bot_now = (await live_client.get(f"{BOTS}/{bot['id']}", headers=owner)).json()
    assert bot_now["embedding_model"] == "local-hash-v1"

    metrics = (await live_client.get("/metrics")).text
    assert 'chatsphere_documents{status="ready"}' in metrics


async def test_every_corpus_pdf_ends_ready_or_failed_with_a_reason(
    on_worker, live_client, make_live_user, engine
):
    pdfs = sorted((CORPUS / "pdf").rglob("*.pdf")) if (CORPUS / "pdf").is_dir() else []
    if not pdfs:
        pytest.skip("../shared/corpus/pdf is not there")
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    submitted: dict[str, str] = {}
    for path in pdfs:
        r = await upload(live_client, owner, bot["id"], path.read_bytes(), filename=path.name)
        if r.status_code == 409:  # the corpus holds byte-identical copies
            assert r.json()["error"]["details"]["document_id"] in submitted.values()
            continue
        assert r.status_code == 202, (path.name, r.text)
        submitted[path.name] = r.json()["id"]

    outcomes = {}
    for name, document_id in submitted.items():
        doc = await wait_for(live_client, owner, document_id, timeout=120, worker=on_worker)
        outcomes[name] = doc
        if doc["status"] == "failed":
            assert doc["error"] and len(doc["error"]) > 10, (name, doc)
            assert doc["chunk_count"] == 0
        else:
            assert doc["chunk_count"] > 0 and doc["page_count"] >= 1, (name, doc)
    assert outcomes["crazyones-encrypted-256.pdf"]["status"] == "failed" or "password" in (
        outcomes["crazyones-encrypted-256.pdf"]["error"] or ""
    )
    assert sum(d["status"] == "ready" for d in outcomes.values()) >= len(outcomes) // 2

    # Exactly one vector per chunk of every ready document, none of the failed ones.
    ids = await vector_ids(engine, bot["id"])
    wanted = sorted(
        i
        for d in outcomes.values()
        if d["status"] == "ready"
        for i in expected_ids(d["id"], d["chunk_count"])
    )
    assert ids == wanted


async def test_delete_removes_chunks_vectors_and_file(
    on_worker, live_client, make_live_user, engine, live_runtime
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    created = (await add_text(live_client, owner, bot["id"], REFUNDS)).json()
    doc = await wait_for(live_client, owner, created["id"], worker=on_worker)
    async with live_runtime.read() as session:
        row = await session.get(Document, uuid.UUID(doc["id"]))
        stored = live_runtime.settings.upload_dir / row.storage_key
    assert stored.exists() and await vector_ids(engine, bot["id"])

    assert (await live_client.delete(f"{DOCS}/{doc['id']}", headers=owner)).status_code == 204
    await _eventually(lambda: _gone(engine, bot["id"], stored), on_worker)
    async with live_runtime.read() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(DocumentChunk)
            .where(DocumentChunk.document_id == uuid.UUID(doc["id"]))
        )
    assert left == 0


async def test_deleting_the_bot_removes_its_stored_files(
    on_worker, live_client, make_live_user, live_runtime
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    created = (
        await add_text(live_client, owner, bot["id"], "A note to be removed with its bot.")
    ).json()
    await wait_for(live_client, owner, created["id"], worker=on_worker)
    async with live_runtime.read() as session:
        key = (await session.get(Document, uuid.UUID(created["id"]))).storage_key
    stored = live_runtime.settings.upload_dir / key
    assert stored.exists()
    assert (await live_client.delete(f"{BOTS}/{bot['id']}", headers=owner)).status_code == 204

    async def file_gone() -> bool:
        return not stored.exists()

    await _eventually(file_gone, on_worker)


async def test_reindex_after_a_provider_change_rebuilds_the_bot(
    on_worker, live_client, make_live_user, live_runtime, engine
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    created = (await add_text(live_client, owner, bot["id"], REFUNDS)).json()
    doc = await wait_for(live_client, owner, created["id"], worker=on_worker)
    # As if these vectors had been made by the previous provider.
    async with live_runtime.transaction() as session:
        await session.execute(
            update(Bot).where(Bot.id == uuid.UUID(bot["id"])).values(embedding_model="old-model")
        )
    search = {"query": "refunds"}
    r = await live_client.post(f"{BOTS}/{bot['id']}/search", json=search, headers=owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "embedding_model_mismatch"

    assert (await live_client.post(f"{DOCS}/{doc['id']}/reindex", headers=owner)).status_code == 202
    again = await wait_for(live_client, owner, doc["id"], worker=on_worker)
    assert again["status"] == "ready" and again["chunk_count"] == doc["chunk_count"]
    assert await vector_ids(engine, bot["id"]) == expected_ids(doc["id"], doc["chunk_count"])
    r = await live_client.post(f"{BOTS}/{bot['id']}/search", json=search, headers=owner)
    assert r.status_code == 200 and r.json()["items"]


async def test_sweep_requeues_stuck_documents_and_gives_up_eventually(
    on_worker, live_client, make_live_user, live_runtime, settings
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    # Sent to a queue nobody consumes: the task is lost, the document sits in `queued`.
    with sending_to(live_runtime, on_worker.broker_url, "nobody-listens"):
        lost = (await add_text(live_client, owner, bot["id"], "Lost task document.")).json()
        crashed = (await add_text(live_client, owner, bot["id"], "Crashed worker document.")).json()
        hopeless = (
            await add_text(live_client, owner, bot["id"], "Crashes the worker every time.")
        ).json()
    old = utcnow() - timedelta(hours=1)
    async with live_runtime.transaction() as session:
        for doc_id, values in [
            (lost["id"], {}),
            (crashed["id"], {"status": "processing", "attempts": 1, "progress": 40}),
            (hopeless["id"], {"status": "processing", "attempts": 99}),
        ]:
            await session.execute(
                update(Document)
                .where(Document.id == uuid.UUID(doc_id))
                .values(status_changed_at=old, **values)
            )

    assert await ingest.requeue_stuck(live_runtime) == 3
    assert await ingest.requeue_stuck(live_runtime) == 0  # not again before another timeout
    for doc_id in (lost["id"], crashed["id"]):
        doc = await wait_for(live_client, owner, doc_id, worker=on_worker)
        assert doc["status"] == "ready", doc
    doc = await wait_for(live_client, owner, hopeless["id"], worker=on_worker)
    assert doc["status"] == "failed" and "attempts" in doc["error"]


async def _gone(engine, bot_id: str, stored) -> bool:
    return not stored.exists() and not await vector_ids(engine, bot_id)


async def _eventually(check, worker, timeout: float = 30.0) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s\n{worker.log()[-3000:]}")
