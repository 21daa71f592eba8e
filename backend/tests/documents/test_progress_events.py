"""Live progress: documents carry pages and chunks done and an ETA, and
`GET /bots/{id}/documents/events` streams every change as Server-Sent Events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from app.documents import events as document_events
from app.documents.ingest import process_queued
from app.documents.models import DocumentStatus
from app.documents.schemas import eta_seconds
from tests.chat.conftest import create_bot, parse_sse

API = "/api/v1"
TEXT = "\n\n".join(f"Section {n}. " + "Refunds take thirty days. " * 60 for n in range(12))


async def test_events_stream_each_change_until_ready(live_client, live_runtime, make_live_user,
                                                     monkeypatch):  # fmt: skip
    monkeypatch.setattr(document_events, "POLL_SECONDS", 0.05)
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    r = await live_client.post(f"{API}/bots/{bot['id']}/documents/text",
                               json={"title": "Policy", "content": TEXT}, headers=owner)  # fmt: skip
    document_id = r.json()["id"]

    async def watch() -> str:
        r = await live_client.get(f"{API}/bots/{bot['id']}/documents/events?until_settled=true",
                                  headers=owner)  # fmt: skip
        assert r.headers["content-type"].startswith("text/event-stream")
        return r.text

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.2)
    assert document_id in await process_queued(live_runtime)
    body = await asyncio.wait_for(watcher, 10)
    states = [data for name, data in parse_sse(body) if name == "document"]
    assert states[0]["status"] == "queued" and states[0]["id"] == document_id
    assert states[-1]["status"] == "ready"
    ready = states[-1]
    assert ready["chunks_embedded"] == ready["chunk_count"] > 0
    assert ready["pages_done"] == ready["pages_total"] == 1 and ready["eta_seconds"] is None
    assert [s["progress"] for s in states] == sorted(s["progress"] for s in states)

    r = await live_client.get(f"{API}/documents/{document_id}", headers=owner)
    doc = r.json()
    assert (doc["pages_done"], doc["pages_total"]) == (1, 1)
    assert doc["chunks_embedded"] == doc["chunk_count"] and doc["eta_seconds"] is None


async def test_events_are_the_owners_only(live_client, make_live_user):
    owner, stranger = await make_live_user(), await make_live_user()
    bot = await create_bot(live_client, owner)
    r = await live_client.get(f"{API}/bots/{bot['id']}/documents/events", headers=stranger)
    assert r.status_code == 404
    r = await live_client.get(f"{API}/bots/{bot['id']}/documents/events")
    assert r.status_code == 401


def test_the_eta_follows_the_embedding_rate():
    started = datetime.now(UTC) - timedelta(seconds=30)
    doc = SimpleNamespace(status=DocumentStatus.PROCESSING, started_at=started,
                          chunks_embedded=100, chunk_count=400)  # fmt: skip
    assert 85 <= eta_seconds(doc) <= 95  # 30 s for 100 chunks, 300 to go
    doc.chunks_embedded = 0
    assert eta_seconds(doc) is None  # no rate yet
    doc.status = DocumentStatus.READY
    assert eta_seconds(doc) is None


async def test_metrics_show_waiting_work_per_owner(live_client, make_live_user):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    for n in range(3):
        r = await live_client.post(f"{API}/bots/{bot['id']}/documents/text",
                                   json={"title": f"d{n}", "content": f"text {n}"}, headers=owner)  # fmt: skip
        assert r.status_code == 202
    me = (await live_client.get(f"{API}/users/me", headers=owner)).json()["id"]
    metrics = (await live_client.get("/metrics")).text
    assert f'chatsphere_owner_queue_depth{{owner="{me}"}} 3.0' in metrics
