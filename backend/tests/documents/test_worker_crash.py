"""A worker SIGKILLed in the middle of a document: the document still ends `ready`, with
exactly one vector per chunk. The dead run's lease stops being renewed: on Redis the broker
redelivers the unacknowledged task after the visibility timeout and that copy takes over
once the lease has run out; on the embedded SQL broker the sweep sends it again then.
A second delivery while the run is alive does nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from agent import storage as agent_storage
from app.core import jobs
from app.documents import ingest
from app.documents.models import Document
from tests.conftest import TEST_REDIS_URL
from tests.documents.helpers import add_text, create_bot
from tests.documents.worker import Worker, assert_ready, new_queue, sending_to, wait_for

pytestmark = pytest.mark.worker

LEASE = 6


def big_text(seed: str, paragraphs: int = 1500) -> str:
    """About 4 MB of distinct words: 1500 chunks, several seconds of embedding."""
    return "\n\n".join(
        f"Section {i} of the {seed} manual. " + " ".join(f"{seed}{i}w{j}" for j in range(170)) + "."
        for i in range(paragraphs)
    )


@pytest.fixture(params=["sqla", "redis"])
def broker(request, database_url, tmp_path) -> tuple[str, str]:
    if request.param == "redis":
        if not TEST_REDIS_URL:
            pytest.skip("TEST_REDIS_URL not set")
        return "redis", TEST_REDIS_URL
    return "sqla", f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"


@pytest.fixture
def crash_setup(broker, database_url, tmp_path, settings, live_runtime):
    """A worker factory on one private queue; every worker started is killed at the end."""
    kind, url = broker
    queue, data_dir, workers = new_queue(), tmp_path / "worker-data", []
    settings.data_dir = data_dir

    def start() -> Worker:
        env = {"TASK_VISIBILITY_TIMEOUT": "5", "INGEST_LEASE_SECONDS": str(LEASE)}
        worker = Worker(data_dir, database_url, url, queue, env=env)
        workers.append(worker)
        return worker.start()

    with sending_to(live_runtime, url, queue):
        yield kind, start
    for worker in workers:
        worker.stop()


async def vector_ids(engine, bot_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(agent_storage.vectors.c.id).where(agent_storage.vectors.c.namespace == bot_id)
        )
        return [r.id for r in rows]


async def run_count(engine, doc_id: str) -> int:
    """How many runs have claimed the document (its `attempts`)."""
    async with engine.connect() as conn:
        return await conn.scalar(select(Document.attempts).where(Document.id == uuid.UUID(doc_id)))


def pool_children(worker: Worker) -> list[int]:
    pid = worker.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


async def start_big_document(start, live_client, owner, seed: str):
    worker = start()
    bot = await create_bot(live_client, owner)
    created = (await add_text(live_client, owner, bot["id"], big_text(seed))).json()
    doc = await wait_for(
        live_client, owner, created["id"], progress_over=20, timeout=90, worker=worker
    )
    assert doc["status"] == "processing" and doc["progress"] < 95, "finished before the kill"
    return worker, bot, created["id"]


async def assert_exactly_one_vector_per_chunk(engine, bot_id: str, doc: dict) -> None:
    ids = await vector_ids(engine, bot_id)
    assert len(ids) == len(set(ids)) == doc["chunk_count"] > 100
    assert set(ids) == {f"{doc['id']}:{i}" for i in range(doc["chunk_count"])}


async def test_killed_pool_process_reruns_the_document(
    crash_setup, live_client, make_live_user, engine, database_url
):
    kind, start = crash_setup
    usual = "redis" if database_url.startswith("postgresql") and TEST_REDIS_URL else "sqla"
    if kind != usual:
        pytest.skip("the parent requeues the task itself: one broker per database is enough")
    owner = await make_live_user()
    worker, bot, doc_id = await start_big_document(start, live_client, owner, "child")
    [child] = pool_children(worker)
    os.kill(child, signal.SIGKILL)  # as the OOM killer would; the parent stays up
    assert await vector_ids(engine, bot["id"])  # it had indexed part of the document
    doc = await wait_for(live_client, owner, doc_id, timeout=120, worker=worker)
    assert_ready(doc, worker)
    await assert_exactly_one_vector_per_chunk(engine, bot["id"], doc)


async def test_sigkilled_worker_leads_to_a_ready_document_without_duplicates(
    crash_setup, live_client, make_live_user, live_runtime, engine
):
    kind, start = crash_setup
    owner = await make_live_user()
    worker, bot, doc_id = await start_big_document(start, live_client, owner, "killed")
    worker.kill(signal.SIGKILL)  # the whole worker, pool and all
    killed_at = time.monotonic()
    if kind == "sqla":  # renewed at most a third of a lease ago: not taken over yet
        assert await ingest.requeue_stuck(live_runtime) == 0
    assert await vector_ids(engine, bot["id"])  # it had indexed part of the document
    replacement = start()
    if kind == "sqla":
        # The embedded broker never redelivers a task its dead worker held: the sweep sends
        # the document again once its lease has run out, not after STUCK_AFTER_SECONDS.
        while await ingest.requeue_stuck(live_runtime) == 0:
            assert time.monotonic() - killed_at < LEASE + 5, "the lease never ran out"
            await asyncio.sleep(0.5)
    # Taken over within 60 s of the kill: a second run has claimed the document.
    while await run_count(engine, doc_id) < 2:
        assert time.monotonic() - killed_at < 60, replacement.log()[-3000:]
        await asyncio.sleep(0.2)
    doc = await wait_for(live_client, owner, doc_id, timeout=120, worker=replacement)
    assert_ready(doc, replacement)
    assert doc["progress"] == 100
    await assert_exactly_one_vector_per_chunk(engine, bot["id"], doc)


async def test_a_second_delivery_of_a_claimed_document_does_no_second_run(
    crash_setup, live_client, make_live_user, live_runtime, engine
):
    """A reindex while queued, a sweep during a retry delay, a redelivery: the copy finds
    the live lease, looks once more when it would have run out, finds it renewed, and
    drops. The document is parsed and embedded once."""
    _, start = crash_setup
    owner = await make_live_user()
    worker, bot, doc_id = await start_big_document(start, live_client, owner, "twice")
    idle = start()  # the copy goes to a free worker while the first still works
    async with live_runtime.transaction() as session:
        jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, doc_id)
    doc = await wait_for(live_client, owner, doc_id, timeout=120, worker=worker)
    assert_ready(doc, worker)
    await asyncio.sleep(LEASE + 3)  # the copy's second look comes after the lease
    assert "document_claimed_elsewhere" in worker.log() + idle.log()
    assert await run_count(engine, doc_id) == 1
    await assert_exactly_one_vector_per_chunk(engine, bot["id"], doc)
