"""Fairness benchmark: one owner's small document behind another owner's backlog, 2 workers.

The embedded default as `make run` has it (SQLite, the SQL broker, local embedder and
store), the real app in this process over ASGI and `celery -A worker worker` processes.
Each number has a baseline measured in the same run, the same way:

- owner B's time from upload to `ready` for one small document, with both worker processes
  idle (baseline), then right after owner A queued a backlog of 20 multi-page PDFs: target
  ≤ 2× (first in, first out would make it the whole backlog's time, also shown);
- total pages/s over the same PDFs with 1 worker process (baseline) and with 2: target
  ≥ 1.7× on this 2-core machine.

    python bench/fairness.py [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# bench/http.py would shadow the standard library's http for httpx.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
# The ingestion benchmark's worker, client and generated PDFs, measured the same way.
_spec = importlib.util.spec_from_file_location(
    "bench_ingest", Path(__file__).with_name("ingest.py")
)
ingest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ingest)
API, BACKEND, Client, Worker, long_pdf, row = (
    ingest.API, ingest.BACKEND, ingest.Client, ingest.Worker, ingest.long_pdf, ingest.row
)  # fmt: skip

BACKLOG = 20
BACKLOG_PAGES = 25
ALONE_RUNS = 3
SMALL = b"Opening hours: Monday to Friday, nine to five. Closed on public holidays.\n"


async def time_to_ready(client: Client, bot_id: str, name: str, data: bytes) -> float:
    start = time.perf_counter()
    document_id = await client.upload(bot_id, name, data)
    assert document_id is not None
    while True:
        r = await client.http.get(f"{API}/documents/{document_id}", headers=client.headers)
        doc = r.json()
        if doc["status"] in ("ready", "failed"):
            assert doc["status"] == "ready", doc
            return time.perf_counter() - start
        await asyncio.sleep(0.02)


async def fairness(owner_a: Client, owner_b: Client, data_dir: Path, pdfs: list[bytes]) -> dict:
    workers = [Worker(data_dir, concurrency=1), Worker(data_dir, concurrency=1)]
    try:
        bot_b = await owner_b.bot("b")
        alone = [
            await time_to_ready(owner_b, bot_b, f"hours-{i}.txt", SMALL + str(i).encode())
            for i in range(ALONE_RUNS)
        ]
        bot_a = await owner_a.bot("a")
        started_at = datetime.now(UTC)
        for i, data in enumerate(pdfs):
            await owner_a.upload(bot_a, f"manual-{i}.pdf", data)
        behind = await time_to_ready(owner_b, bot_b, "hours-behind.txt", SMALL + b"behind")
        docs = await owner_a.wait_all(bot_a)
        assert all(d["status"] == "ready" for d in docs), docs
        finished = max(datetime.fromisoformat(d["updated_at"]) for d in docs)
        return {
            "alone": statistics.median(alone),
            "behind": behind,
            "backlog": (finished - started_at).total_seconds(),
        }
    finally:
        for worker in workers:
            worker.stop()


async def throughput(client: Client, data_dir: Path, pdfs: list[bytes], processes: int) -> float:
    """Pages per second from the first upload to the last document's `ready`."""
    workers = [Worker(data_dir, concurrency=1) for _ in range(processes)]
    try:
        bot = await client.bot(f"throughput-{processes}")
        started_at = datetime.now(UTC)
        for i, data in enumerate(pdfs):
            # Different bytes per run: no embedding-cache hits from the other run.
            await client.upload(bot, f"t{processes}-{i}.pdf", data)
        docs = await client.wait_all(bot)
        assert all(d["status"] == "ready" for d in docs), docs
        finished = max(datetime.fromisoformat(d["updated_at"]) for d in docs)
        return sum(d["page_count"] for d in docs) / (finished - started_at).total_seconds()
    finally:
        for worker in workers:
            worker.stop()


async def run(data_dir: Path) -> bool:
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=BACKEND,
        check=True,
        env=os.environ.copy(),
        capture_output=True,
    )
    owner_a, owner_b = Client(), Client()
    await owner_a.login()
    await owner_b.login()
    backlog = [long_pdf(BACKLOG_PAGES, seed=1000 + i) for i in range(BACKLOG)]
    fair = await fairness(owner_a, owner_b, data_dir, backlog)
    # The same pages for both runs, but not the same bytes (seeds), so neither run gets the
    # other's cached embeddings.
    one = await throughput(
        owner_a, data_dir, [long_pdf(BACKLOG_PAGES, seed=2000 + i) for i in range(10)], 1
    )
    two = await throughput(
        owner_a, data_dir, [long_pdf(BACKLOG_PAGES, seed=3000 + i) for i in range(10)], 2
    )

    print(
        f"\nowner A's backlog: {BACKLOG} PDFs x {BACKLOG_PAGES} pages, all ready after "
        f"{fair['backlog']:.1f} s (first in, first out would keep B waiting about that long)\n"
    )
    print("| metric | measured | baseline | ratio | target | result |")
    print("|---|---|---|---|---|---|")
    ratio = fair["behind"] / fair["alone"]
    scale = two / one
    rows = [
        row(
            "owner B's small document, upload → ready, behind A's backlog (s)",
            f"{fair['behind']:.2f}",
            f"{fair['alone']:.2f} alone (median of {ALONE_RUNS})",
            ratio,
            "≤ 2 × baseline",
            ratio <= 2,
        ),
        row(
            "pages/s, 10 PDFs, 2 worker processes",
            f"{two:.1f}",
            f"{one:.1f} with 1 worker process",
            scale,
            "≥ 1.7 × baseline",
            scale >= 1.7,
        ),
    ]
    print("\n".join(rows))
    return all(r.endswith("pass |") for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the data dir for inspection")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="chatsphere-bench-fairness-"))
    ingest.use_embedded_default(data_dir)
    try:
        return 0 if asyncio.run(run(data_dir)) else 1
    finally:
        if args.keep:
            print(f"data dir kept: {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
