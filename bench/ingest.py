"""Ingestion benchmark: upload → `ready` through a real Celery worker, on the embedded default.

Everything runs as `make run` would: a throwaway DATA_DIR with the SQLite database, the
SQLite broker, the local embedder and the local vector store; the API is the real app
(served in-process over ASGI) and the worker is `celery -A worker worker`.

The corpus is ../shared/corpus/pdf (when present) plus long text PDFs generated here.
Every number has a baseline measured in the same run:

- end-to-end pages/s (upload to `ready`) with one worker process, against pypdf's raw text
  extraction of the same files in one process;
- embedding-cache hit rate when the same content is ingested again (reindex): the chunks that
  did not reach the embedder, counted by the worker's embedder itself (`embedded` in its
  `document_ready` log lines), so a cache that is bypassed shows 0%;
- the worker's peak RSS on a 500-page PDF against the 300 MB budget.

    python bench/ingest.py [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

# bench/http.py would shadow the standard library's http for httpx.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
API = "/api/v1"


# --- Generated PDFs ------------------------------------------------------------------------


def long_pdf(pages: int, seed: int) -> bytes:
    """A text PDF: each page ~55 lines of prose-like words (deterministic for a seed)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    rng = random.Random(seed)
    vocabulary = [
        "".join(
            rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(1, 4))
        )
        for _ in range(6000)
    ]
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for number in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        lines = [f"Chapter {number // 20 + 1}, page {number + 1}."]
        while len(lines) < 55:
            words = [rng.choice(vocabulary) for _ in range(rng.randint(10, 14))]
            lines.append(" ".join(words).capitalize() + rng.choice([".", ".", ",", ";"]))
        ops = [
            "BT",
            "/F1 10 Tf",
            "13 TL",
            "40 760 Td",
            *(f"({line}) Tj T*" for line in lines),
            "ET",
        ]
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page.compress_content_streams()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def raw_extraction(files: dict[str, bytes]) -> dict[str, tuple[int, float]]:
    """pypdf alone: (pages, seconds) per file that it can read."""
    from pypdf import PdfReader

    results = {}
    for name, data in files.items():
        start = time.perf_counter()
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                reader.decrypt("")
            pages = 0
            for page in reader.pages:
                page.extract_text()
                pages += 1
        except Exception:  # noqa: BLE001 - unreadable files are left out of the baseline
            continue
        results[name] = (pages, time.perf_counter() - start)
    return results


# --- The worker and the app ------------------------------------------------------------------


class Worker:
    def __init__(self, data_dir: Path, concurrency: int) -> None:
        self.log_path = data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with open(self.log_path, "wb") as log:
            env = {**os.environ, "LOG_LEVEL": "INFO", "LOG_JSON": "true"}
            self.process = subprocess.Popen(
                command,
                cwd=BACKEND,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while not self.pool_pids():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()}")
            time.sleep(0.2)

    def pool_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def peak_rss_mb(self) -> float:
        """The largest VmHWM (peak resident set) among the pool processes, and among the
        children they parsed in (from `document_ready`'s `parse_peak_rss_mb`)."""
        peaks = []
        for pid in self.pool_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        for line in self.log_path.read_text().splitlines():
            if '"document_ready"' in line:
                peaks.append(float(json.loads(line).get("parse_peak_rss_mb") or 0))
        return max(peaks, default=0.0)

    def embedded(self) -> int:
        """Chunks the worker's embedder sent to the provider, over every document so far."""
        return sum(
            json.loads(line).get("embedded", 0)
            for line in self.log_path.read_text().splitlines()
            if '"document_ready"' in line
        )

    def phase_seconds(self) -> dict[str, float]:
        """Worker CPU per pipeline phase, summed over the `document_ready` log lines."""
        totals: dict[str, float] = {}
        for line in self.log_path.read_text().splitlines():
            if '"document_ready"' not in line:
                continue
            for key, value in json.loads(line).items():
                if key.endswith("_s"):
                    totals[key[:-2]] = totals.get(key[:-2], 0.0) + value
        return totals

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Client:
    """The real app in this process, over ASGI; jobs go to the worker through the broker."""

    def __init__(self) -> None:
        import httpx

        from app.main import create_app

        self.app = create_app()
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://bench", timeout=120
        )
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        body = {
            "email": f"bench-{uuid.uuid4().hex[:6]}@example.com",
            "password": "bench password",
            "full_name": "B",
        }
        assert (await self.http.post(f"{API}/auth/register", json=body)).status_code == 201
        r = await self.http.post(
            f"{API}/auth/login", json={"email": body["email"], "password": body["password"]}
        )
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def bot(self, name: str) -> str:
        r = await self.http.post(f"{API}/bots", json={"name": name}, headers=self.headers)
        return r.json()["id"]

    async def upload(self, bot_id: str, name: str, data: bytes) -> str | None:
        r = await self.http.post(
            f"{API}/bots/{bot_id}/documents", files={"file": (name, data)}, headers=self.headers
        )
        if r.status_code == 409:
            return None  # byte-identical copy already in the corpus
        assert r.status_code == 202, r.text
        return r.json()["id"]

    async def wait_all(self, bot_id: str, timeout: float = 900) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = 0
            for status in ("queued", "processing"):
                r = await self.http.get(
                    f"{API}/bots/{bot_id}/documents",
                    params={"status": status, "limit": 1},
                    headers=self.headers,
                )
                busy += r.json()["total"]
            if busy == 0:
                return await self.documents(bot_id)
            await asyncio.sleep(0.25)
        raise TimeoutError("documents still processing")

    async def documents(self, bot_id: str) -> list[dict]:
        items, offset = [], 0
        while True:
            r = await self.http.get(
                f"{API}/bots/{bot_id}/documents",
                params={"limit": 100, "offset": offset},
                headers=self.headers,
            )
            page = r.json()
            items += page["items"]
            offset += 100
            if offset >= page["total"]:
                return items

    async def reindex(self, document_id: str) -> None:
        r = await self.http.post(f"{API}/documents/{document_id}/reindex", headers=self.headers)
        assert r.status_code == 202, r.text


# --- The run --------------------------------------------------------------------------------


async def measure_rss(client: Client, data_dir: Path) -> float:
    """Peak RSS of a fresh single-process pool ingesting one 500-page PDF from cold."""
    worker = Worker(data_dir, concurrency=1)
    try:
        bot = await client.bot("rss")
        await client.upload(bot, "rss-500-pages.pdf", long_pdf(500, seed=500))
        [doc] = await client.wait_all(bot)
        assert doc["status"] == "ready", doc
        return worker.peak_rss_mb()
    finally:
        worker.stop()


async def measure_throughput(
    client: Client, files: dict[str, bytes], data_dir: Path, concurrency: int
) -> dict:
    worker = Worker(data_dir, concurrency=concurrency)
    try:
        bot = await client.bot("throughput")
        start, started_at = time.perf_counter(), datetime.now(UTC)
        latencies = []
        for name, data in files.items():
            sent = time.perf_counter()
            await client.upload(bot, name, data)
            latencies.append(time.perf_counter() - sent)
        uploaded = time.perf_counter() - start
        docs = await client.wait_all(bot)
        # The worker stamps each document as it finishes; polling would add its own delay.
        finished = max(datetime.fromisoformat(d["updated_at"]) for d in docs)
        elapsed = (finished - started_at).total_seconds()
        print(
            f"uploads: {len(latencies)} in {uploaded:.2f} s, slowest 202 in "
            f"{max(latencies) * 1000:.0f} ms; all processed after {elapsed:.2f} s",
            file=sys.stderr,
        )
        phases = ", ".join(f"{k} {v:.2f}" for k, v in worker.phase_seconds().items())
        print(f"worker seconds by phase (summed over documents): {phases}", file=sys.stderr)

        # The same content again: every chunk's embedding should come from the cache.
        ready = [d for d in docs if d["status"] == "ready"]
        embedded_before = worker.embedded()
        lookups = sum(d["chunk_count"] for d in ready)
        for doc in ready:
            await client.reindex(doc["id"])
        again = await client.wait_all(bot)
        misses = worker.embedded() - embedded_before
        assert all(d["status"] == "ready" for d in again if d["id"] in {r["id"] for r in ready})
        return {"docs": docs, "elapsed": elapsed, "lookups": lookups, "misses": misses}
    finally:
        worker.stop()


def row(metric: str, value: str, baseline: str, ratio: float, target: str, ok: bool) -> str:
    return (
        f"| {metric} | {value} | {baseline} | {ratio:.2f} | {target} | {'pass' if ok else 'FAIL'} |"
    )


async def run(args: argparse.Namespace, data_dir: Path) -> bool:
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=BACKEND,
        check=True,
        env=os.environ.copy(),
        capture_output=True,
    )
    files = (
        {p.name: p.read_bytes() for p in sorted(CORPUS.rglob("*.pdf"))} if CORPUS.is_dir() else {}
    )
    files["generated-300-pages.pdf"] = long_pdf(300, seed=300)
    files["generated-400-pages.pdf"] = long_pdf(400, seed=400)
    print(
        f"corpus: {len(files)} PDFs, {sum(map(len, files.values())) / 1e6:.1f} MB; "
        "one worker process",
        file=sys.stderr,
    )

    client = Client()
    await client.login()
    peak_rss = await measure_rss(client, data_dir)
    # Like with like: one worker process against pypdf in one process.
    result = await measure_throughput(client, files, data_dir, concurrency=1)

    ready = {d["filename"]: d for d in result["docs"] if d["status"] == "ready"}
    raw = raw_extraction({name: files[name] for name in ready})
    raw_pages = sum(pages for pages, _ in raw.values())
    raw_rate = raw_pages / sum(seconds for _, seconds in raw.values())
    e2e_pages = sum(raw[name][0] for name in raw)  # the same pages, counted the same way
    e2e_rate = e2e_pages / result["elapsed"]
    hit_rate = 1 - result["misses"] / max(result["lookups"], 1)
    failed = [d for d in result["docs"] if d["status"] == "failed"]

    print(
        f"\n{len(ready)} ready, {len(failed)} failed with a reason "
        f"({', '.join(sorted({d['error'] for d in failed}))[:300]})"
    )
    print(
        f"{e2e_pages} pages in {result['elapsed']:.1f} s end to end; pypdf alone "
        f"{sum(s for _, s in raw.values()):.1f} s\n"
    )
    print("| metric | measured | baseline | ratio | target | result |")
    print("|---|---|---|---|---|---|")
    rows = [
        row(
            "end-to-end pages/s, upload → ready, 1 worker process (local embedder)",
            f"{e2e_rate:.1f}",
            f"{raw_rate:.1f} (pypdf extract_text, 1 process)",
            e2e_rate / raw_rate,
            "≥ 0.7 × baseline",
            e2e_rate / raw_rate >= 0.7,
        ),
        row(
            "embedding-cache hit rate on re-ingest (reindex)",
            f"{hit_rate:.1%}",
            f"{result['lookups']} chunk lookups",
            hit_rate,
            "100%",
            hit_rate >= 0.999999,
        ),
        row(
            "worker peak RSS, 500-page PDF (MB)",
            f"{peak_rss:.0f}",
            "300 MB budget",
            peak_rss / 300,
            "≤ 300 MB",
            peak_rss <= 300,
        ),
    ]
    print("\n".join(rows))
    return all(r.endswith("pass |") for r in rows)


def use_embedded_default(data_dir: Path) -> None:
    """The bench process and its workers read the same settings: the embedded default in
    `data_dir`, with the API's limits lifted (one client making many calls; the limits have
    tests of their own)."""
    for name in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "REDIS_URL",
        "GEMINI_API_KEY",
        "PINECONE_API_KEY",
    ):
        os.environ.pop(name, None)
    os.environ.update(
        {"DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", "ENVIRONMENT": "development"}
    )
    for name in ("RATE_LIMIT_PER_IP", "RATE_LIMIT_PER_PRINCIPAL", "REGISTER_RATE_LIMIT"):
        os.environ[name] = "1000000/minute"
    sys.path.insert(0, str(BACKEND))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the data dir for inspection")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="chatsphere-bench-ingest-"))
    use_embedded_default(data_dir)
    try:
        return 0 if asyncio.run(run(args, data_dir)) else 1
    finally:
        if args.keep:
            print(f"data dir kept: {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
