"""A long PDF is parsed in page ranges by whichever workers are free; the worker that parses
the last range chunks and embeds the whole document, so the chunks and vectors are exactly
those of an unsplit run. Two real workers, on Redis with PostgreSQL and on the embedded
broker with SQLite."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from agent import storage as agent_storage
from agent.parsing import parse_document
from agent.parsing.sniff import PDF
from agent.settings import AgentSettings
from app.documents.models import DocumentPart
from tests.documents.conftest import serving, start_workers
from tests.documents.helpers import DOCS, create_bot, text_pdf, upload
from tests.documents.worker import wait_for

pytestmark = pytest.mark.worker

PAGES = 300
RANGE = 50


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, database_url, broker_url):
    env = {"PDF_RANGE_PAGES": str(RANGE)}
    workers = start_workers(tmp_path_factory, database_url, broker_url, 2, env=env)
    yield workers
    for worker in workers:
        worker.stop()


def _book() -> bytes:
    return text_pdf(
        [
            f"Chapter {p // 10}, page {p}. "
            + " ".join(f"p{p}w{w} detail{w % 7} topic{p % 13}" for w in range(90))
            for p in range(1, PAGES + 1)
        ]
    )


async def _chunk_texts(client, headers, document_id: str) -> list[str]:
    texts, offset = [], 0
    while True:
        page = (
            await client.get(
                f"{DOCS}/{document_id}/chunks",
                params={"limit": 100, "offset": offset},
                headers=headers,
            )  # fmt: skip
        ).json()
        texts += [c["text"] for c in page["items"]]
        offset += 100
        if offset >= page["total"]:
            return texts


async def test_a_long_pdf_is_parsed_in_ranges_by_both_workers_with_unsplit_results(
    two_workers, settings, live_runtime, live_client, make_live_user, engine
):
    first, second = two_workers
    data = _book()
    with serving(first, settings, live_runtime):
        owner = await make_live_user()
        bot = await create_bot(live_client, owner)
        r = await upload(live_client, owner, bot["id"], data, filename="book.pdf")
        assert r.status_code == 202, r.text
        doc = await wait_for(live_client, owner, r.json()["id"], timeout=240, worker=first)
    assert doc["status"] == "ready", doc
    logs = first.log() + second.log()
    assert logs.count("document_range_parsed") == PAGES // RANGE
    assert "document_range_parsed" in first.log() and "document_range_parsed" in second.log()
    assert doc["pages_done"] == doc["pages_total"] == PAGES

    # The same chunks as one unsplit parse of the same file, with the same settings.
    agent_settings = AgentSettings()
    unsplit = live_runtime.agent.chunker.split(parse_document(data, PDF, agent_settings).pages)
    assert doc["chunk_count"] == len(unsplit) > PAGES // 2
    assert await _chunk_texts(live_client, owner, doc["id"]) == [c.text for c in unsplit]
    async with engine.connect() as conn:
        ids = (
            await conn.scalars(
                select(agent_storage.vectors.c.id).where(
                    agent_storage.vectors.c.namespace == bot["id"]
                )
            )
        ).all()
        parts_left = await conn.scalar(
            select(func.count())
            .select_from(DocumentPart)
            .where(DocumentPart.document_id == uuid.UUID(doc["id"]))
        )
    assert sorted(ids) == sorted(f"{doc['id']}:{i}" for i in range(len(unsplit)))
    assert parts_left == 0  # the ranges' pages go once the document is ready
