"""Hostile uploads through a real worker: each ends `failed` with the limit it hit, within the
deadline, and the worker's own process never holds the file's memory (parsing runs in a
child of it, under PARSE_MEMORY_MB and PARSE_TIMEOUT_SECONDS)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.agent import hostile
from tests.documents.conftest import serving, start_worker
from tests.documents.helpers import create_bot, upload
from tests.documents.worker import wait_for

pytestmark = pytest.mark.worker

MEMORY_MB = 192
DEADLINE = 10


@pytest.fixture(scope="module")
def strict_worker(tmp_path_factory, database_url, broker_url):
    worker = start_worker(
        tmp_path_factory,
        database_url,
        broker_url,
        env={"PARSE_MEMORY_MB": str(MEMORY_MB), "PARSE_TIMEOUT_SECONDS": str(DEADLINE)},
    )
    yield worker
    worker.stop()


@pytest.fixture
def on_strict_worker(strict_worker, settings, live_runtime):
    with serving(strict_worker, settings, live_runtime):
        yield strict_worker


def _peak_rss_of_pool(worker) -> int:
    """The highest VmHWM among the worker's pool processes, in bytes."""
    pid = worker.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert children, "the prefork pool has no process"
    peaks = []
    for child in children:
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) * 1024)
    return max(peaks)


HOSTILE = {
    "bomb.docx": (hostile.docx_understating_its_size, f"more than {MEMORY_MB} MB of memory"),
    "paragraphs.docx": (hostile.docx_of_empty_paragraphs, f"more than {MEMORY_MB} MB of memory"),
    "nested.html": (hostile.html_nested, "nested too deeply"),
    "locked.pdf": (hostile.pdf_with_unknown_encryption, "unsupported encryption method"),
    "bomb.pdf": (hostile.pdf_with_a_content_bomb, "inflates past the 32 MB limit"),
}


async def test_hostile_files_fail_with_the_limit_they_hit_and_the_worker_stays_small(
    on_strict_worker, live_client, make_live_user
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner)
    submitted = {}
    for name, (make, _) in HOSTILE.items():
        r = await upload(live_client, owner, bot["id"], make(), filename=name)
        assert r.status_code == 202, (name, r.text)
        submitted[name] = r.json()["id"]
    text = await upload(
        live_client, owner, bot["id"], hostile.text_mentioning_pdf(), filename="formats.txt"
    )
    assert text.status_code == 202 and text.json()["content_type"].startswith("text/plain")

    started = time.monotonic()
    for name, document_id in submitted.items():
        doc = await wait_for(
            live_client, owner, document_id, timeout=4 * DEADLINE, worker=on_strict_worker
        )
        assert doc["status"] == "failed", (name, doc)
        assert HOSTILE[name][1] in doc["error"], (name, doc["error"])
        assert doc["chunk_count"] == 0
    # One worker slot took them in turn: each within the deadline, none retried.
    assert time.monotonic() - started < len(HOSTILE) * DEADLINE
    doc = await wait_for(live_client, owner, text.json()["id"], worker=on_strict_worker)
    assert doc["status"] == "ready" and doc["chunk_count"] >= 1

    # Without the child process, python-docx alone took the pool process past 1 GB here.
    assert _peak_rss_of_pool(on_strict_worker) < 400 * 1024 * 1024
