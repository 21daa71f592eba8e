"""Retrieval benchmark: the bot's /search in each mode against plain BM25 on the same chunks.

The evaluation set (`bench/retrieval_data/faq.json.gz`, built by `build.py` from FAQs that ship
with Debian packages) has 20 documents and 539 questions written by the FAQs' authors, each
with a gold answer span; a hit is a returned chunk that contains the span. The documents are
pasted into one bot on the embedded default (local embedder, local vector store, SQLite FTS5)
with the default chunking, then every question goes to `POST /bots/{id}/search` in the
`keyword`, `semantic` and `hybrid` modes. The baseline, in the same run: Okapi BM25 (k1=1.5,
b=0.75, no stemming) over the very chunks `/documents/{id}/chunks` lists.

Fallbacks go through the chat API with the bot's real relevance floor: false fallbacks are
answerable questions that got the fallback message; missed fallbacks are the Debian FAQ's
questions (off-topic for this bot) that got an answer.

    python bench/retrieval.py [--split all|dev|test]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py is named like the stdlib's `http` package; keep this directory off the path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import gzip
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "backend"
DATA = REPO / "bench" / "retrieval_data" / "faq.json.gz"
API = "/api/v1"
MODES = ("keyword", "semantic", "hybrid")
DEPTH = 10


def norm(text: str) -> str:
    return " ".join(text.split()).lower()


def metrics(ranks: list[int | None]) -> tuple[float, float, float]:
    """recall@1, recall@5 and MRR@10 from the rank of the first hit (None: no hit)."""
    n = len(ranks)
    r1 = sum(1 for r in ranks if r == 1) / n
    r5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return r1, r5, mrr


def first_hit(texts: list[str], span: str) -> int | None:
    for rank, text in enumerate(texts, 1):
        if span in norm(text):
            return rank
    return None


async def run(split: str) -> int:
    data = json.loads(gzip.decompress(DATA.read_bytes()))
    questions = [q for q in data["questions"] if split == "all" or q["split"] == split]
    workdir = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    many = "100000000/minute"
    os.environ.update(
        DATA_DIR=str(workdir), SECRET_KEY="bench-" + "x" * 40, CELERY_BROKER_URL="memory://",
        LOG_LEVEL="WARNING", ACCESS_LOG="false", RATE_LIMIT_PER_IP=many,
        RATE_LIMIT_PER_PRINCIPAL=many, RATE_LIMIT_CHAT=many, REGISTER_RATE_LIMIT=many,
        LOGIN_RATE_LIMIT=many, MAX_UPLOAD_MB="50",
    )  # fmt: skip
    os.environ.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=BACKEND,
                   check=True, capture_output=True)  # fmt: skip
    sys.path.insert(0, str(BACKEND))
    import httpx

    from app.core.config import get_settings
    from app.core.runtime import Runtime
    from app.documents.ingest import process_queued
    from app.main import create_app
    from tests.agent.bm25 import BM25

    runtime = Runtime(get_settings())
    app = create_app(runtime=runtime)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench", timeout=120) as client:  # fmt: skip
            body = {"email": "bench@example.com", "password": "bench password 1", "full_name": "B"}
            (await client.post(f"{API}/auth/register", json=body)).raise_for_status()
            login = await client.post(
                f"{API}/auth/login", json={k: body[k] for k in ("email", "password")}
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            bot = (await client.post(f"{API}/bots", json={"name": "FAQ"}, headers=auth)).json()
            fallback = bot["fallback_message"]
            started = time.perf_counter()
            document_ids = []
            for doc in data["documents"]:
                r = await client.post(f"{API}/bots/{bot['id']}/documents/text",
                                      json={"title": doc["id"], "content": doc["text"]}, headers=auth)  # fmt: skip
                r.raise_for_status()
                document_ids.append(r.json()["id"])
                assert r.json()["id"] in await process_queued(runtime)
            ingest_s = time.perf_counter() - started
            chunks: list[str] = []
            for document_id in document_ids:
                offset = 0
                while True:
                    page = (await client.get(f"{API}/documents/{document_id}/chunks",
                                             params={"limit": 100, "offset": offset}, headers=auth)).json()  # fmt: skip
                    chunks += [c["text"] for c in page["items"]]
                    offset += 100
                    if offset >= page["total"]:
                        break

            bm25 = BM25(chunks)
            baseline = [first_hit([chunks[i] for i in bm25.top_k(q["question"], DEPTH)], norm(q["answer"]))
                        for q in questions]  # fmt: skip
            results: dict[str, list[int | None]] = {}
            latency: dict[str, list[float]] = {}
            for mode in MODES:
                await client.patch(
                    f"{API}/bots/{bot['id']}", json={"retrieval_mode": mode}, headers=auth
                )
                ranks, times = [], []
                for q in questions:
                    t0 = time.perf_counter()
                    r = await client.post(f"{API}/bots/{bot['id']}/search",
                                          json={"query": q["question"], "top_k": DEPTH}, headers=auth)  # fmt: skip
                    times.append((time.perf_counter() - t0) * 1000)
                    ranks.append(
                        first_hit([h["text"] for h in r.json()["items"]], norm(q["answer"]))
                    )
                results[mode], latency[mode] = ranks, times

            fallbacks: dict[str, tuple[int, int]] = {}
            for mode in ("semantic", "hybrid"):
                await client.patch(
                    f"{API}/bots/{bot['id']}", json={"retrieval_mode": mode}, headers=auth
                )
                conv = (
                    await client.post(
                        f"{API}/bots/{bot['id']}/conversations", json={}, headers=auth
                    )
                ).json()

                async def falls_back(question: str) -> bool:
                    r = await client.post(f"{API}/conversations/{conv['id']}/messages",  # noqa: B023
                                          json={"content": question[:4000]}, headers=auth)  # fmt: skip
                    return r.json()["content"] == fallback

                false = sum([await falls_back(q["question"]) for q in questions])
                missed = sum([not await falls_back(q) for q in data["offtopic"]])
                fallbacks[mode] = (false, missed)
    finally:
        await runtime.aclose()
        shutil.rmtree(workdir, ignore_errors=True)

    b1, b5, bm = metrics(baseline)
    print(
        f"\n### retrieval: {len(questions)} questions ({split}) over {len(data['documents'])} "
        f"documents, {len(chunks)} chunks; embedded default (local embedder, SQLite FTS5)\n"
    )
    print(f"Ingest: {ingest_s:.1f} s. A hit: a returned chunk contains the gold answer span.\n")
    print("| retrieval | recall@1 | recall@5 | MRR@10 | search p50 ms |")
    print("|---|---|---|---|---|")
    print(f"| BM25 on the same chunks (baseline) | {b1:.3f} | {b5:.3f} | {bm:.3f} | - |")
    rows = {mode: metrics(results[mode]) for mode in MODES}
    for mode in MODES:
        r1, r5, mrr = rows[mode]
        print(
            f"| `{mode}` | {r1:.3f} | {r5:.3f} | {mrr:.3f} | {statistics.median(latency[mode]):.1f} |"
        )
    h1, h5, _ = rows["hybrid"]
    best5 = max(rows["keyword"][1], rows["semantic"][1])
    checks = [
        ("hybrid recall@1 >= 1.05 x BM25", f"{h1:.3f} vs {1.05 * b1:.3f}", h1 >= 1.05 * b1),
        ("hybrid recall@5 >= BM25", f"{h5:.3f} vs {b5:.3f}", h5 >= b5),
        (
            "hybrid recall@5 >= best of keyword and semantic",
            f"{h5:.3f} vs {best5:.3f}",
            h5 >= best5,
        ),
    ]
    print("\n| target | measured | result |\n|---|---|---|")
    for name, value, ok in checks:
        print(f"| {name} | {value} | {'pass' if ok else 'FAIL'} |")
    print(
        "\n| fallbacks (chat, the bot's floor) | false: answerable got the fallback | "
        "missed: off-topic got an answer |\n|---|---|---|"
    )
    for mode, (false, missed) in fallbacks.items():
        print(
            f"| `{mode}` | {false} of {len(questions)} ({false / len(questions):.1%}) | "
            f"{missed} of {len(data['offtopic'])} ({missed / len(data['offtopic']):.1%}) |"
        )
    return 0 if all(ok for _, _, ok in checks) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all")
    return asyncio.run(run(parser.parse_args().split))


if __name__ == "__main__":
    raise SystemExit(main())
