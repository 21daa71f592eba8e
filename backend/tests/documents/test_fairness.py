"""Fair scheduling across owners, on two real worker processes (Redis with PostgreSQL, the
embedded SQL broker with SQLite): an owner's backlog does not hold another owner's one
document, and an owner's own documents start in the order they were queued."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.documents.models import Document
from tests.documents.conftest import serving, start_workers
from tests.documents.helpers import create_bot, text_pdf, upload
from tests.documents.worker import wait_for

pytestmark = pytest.mark.worker

BACKLOG = 20


def _manual(n: int, pages: int = 12) -> bytes:
    return text_pdf(
        [
            f"Manual {n} page {p}. " + " ".join(f"m{n}p{p}w{w} section detail" for w in range(120))
            for p in range(pages)
        ]
    )


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, database_url, broker_url):
    workers = start_workers(tmp_path_factory, database_url, broker_url, 2)
    yield workers
    for worker in workers:
        worker.stop()


async def _started_at(engine, ids: list[str]) -> dict[str, object]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Document.id, Document.started_at).where(
                Document.id.in_([uuid.UUID(i) for i in ids])
            )
        )
        return {str(r.id): r.started_at for r in rows}


async def test_one_owners_backlog_does_not_hold_another_owners_document(
    two_workers, settings, live_runtime, live_client, make_live_user, engine
):
    first, second = two_workers
    with serving(first, settings, live_runtime):
        owner_a, owner_b = await make_live_user(), await make_live_user()
        bot_a, bot_b = (
            await create_bot(live_client, owner_a),
            await create_bot(live_client, owner_b),
        )
        backlog = []
        for n in range(BACKLOG):
            r = await upload(live_client, owner_a, bot_a["id"], _manual(n), filename=f"m{n}.pdf")
            assert r.status_code == 202, r.text
            backlog.append(r.json()["id"])
        r = await upload(live_client, owner_b, bot_b["id"], b"Opening hours: 9 to 5.",
                         filename="hours.txt")  # fmt: skip
        small = r.json()["id"]

        doc = await wait_for(live_client, owner_b, small, timeout=120, worker=first)
        assert doc["status"] == "ready", doc
        third_from_last = backlog[-3]
        before = await _started_at(engine, [third_from_last])
        assert before[third_from_last] is None, "A's third-from-last started before B was done"

        for document_id in backlog:
            doc = await wait_for(live_client, owner_a, document_id, timeout=300, worker=first)
            assert doc["status"] == "ready", doc
    started = await _started_at(engine, backlog)
    order = sorted(backlog, key=lambda i: started[i])
    # Claims follow the queue; the stamps are taken just after each claim, so two workers
    # claiming neighbours at the same moment may stamp them either way round. No document
    # may start more than one place (workers - 1) away from its place in the queue.
    shifts = [abs(order.index(document_id) - n) for n, document_id in enumerate(backlog)]
    assert max(shifts) <= len(two_workers) - 1, (
        f"A's documents did not start in the order they were queued: shifts {shifts}"
    )
    assert "document_ready" in first.log() and "document_ready" in second.log()
