"""Chat benchmark: turns per second, server time per turn, streaming TTFT, vector retrieval.

Runs against a real uvicorn server that this script starts on 127.0.0.1 (in a child
process, so clients and server do not share an event loop), on a throwaway PostgreSQL
database, with the local embedder and a zero-delay fake LLM. Every number has a baseline
measured in the same run: a bare FastAPI endpoint served by the same process, and a bare
NumPy search over the same vectors.

    python bench/chat.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1] / "backend"
sys.path.insert(0, str(BACKEND))
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import httpx  # noqa: E402
import numpy as np  # noqa: E402

API = "/api/v1"
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "du", "ga", "zo", "fi", "be"]

# --- Setup -----------------------------------------------------------------------------


async def create_database(admin_url: str) -> tuple[str, str]:
    from sqlalchemy import text

    from app.core.db import create_engine

    name = f"chatsphere_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_async(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=BACKEND,
        env={**os.environ, "DATABASE_URL": url, "DATA_DIR": tempfile.mkdtemp()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode:
        raise SystemExit(f"alembic failed:\n{proc.stderr[-2000:]}")
    return name, url


async def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import text

    from app.core.db import create_engine

    admin = create_engine(_async(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def _async(url: str) -> str:
    from app.core.config import Settings

    return Settings(_env_file=None, database_url=url).resolved_database_url


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3))


def synthetic_chunks(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(chunk text, a question it answers): made-up words, so retrieval has real work."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        a, b, c = word(rng), word(rng), word(rng)
        filler = " ".join(word(rng) for _ in range(40))
        text = f"Section {i}. The {a} {b} is handled by the {c} team. {filler}. Ask {c} about {a}."
        out.append((text, f"Who handles the {a} {b}?"))
    return out


async def index_bot(database_url: str, bot_id: uuid.UUID, chunks: list[str]) -> None:
    """Store chunk rows and vectors the way ingestion does, without the worker."""
    from agent.embeddings.local import LocalEmbedder
    from agent.types import EmbeddingTask, VectorRecord
    from agent.vectorstores.local import LocalVectorStore
    from app.bots.models import Bot
    from app.core.config import Settings
    from app.core.db import create_engine, create_sessionmaker
    from app.documents.models import Document, DocumentChunk, vector_id
    from app.models import load_all_models

    load_all_models()
    settings = Settings(_env_file=None, database_url=database_url)
    embedder = LocalEmbedder(settings.agent.local_embedding_dim)
    engine = create_engine(settings.resolved_database_url)
    async with create_sessionmaker(engine).begin() as session:
        doc = Document(
            bot_id=bot_id,
            filename="handbook.md",
            content_type="text/markdown",
            size_bytes=sum(map(len, chunks)),
            content_hash=uuid.uuid4().hex * 2,
            storage_key=uuid.uuid4().hex,
            status="ready",
            progress=100,
            chunk_count=len(chunks),
            embedding_model=embedder.model,
        )
        session.add(doc)
        await session.flush()
        session.add_all(
            DocumentChunk(
                document_id=doc.id,
                bot_id=bot_id,
                chunk_index=i,
                page=1,
                text=t,
                token_count=len(t.split()),
            )
            for i, t in enumerate(chunks)
        )
        (await session.get(Bot, bot_id)).embedding_model = embedder.model
    vectors = await embedder.embed(chunks, EmbeddingTask.DOCUMENT)
    records = [
        VectorRecord(vector_id(doc.id, i), v, {"document_id": str(doc.id), "chunk_index": i})
        for i, v in enumerate(vectors)
    ]
    await LocalVectorStore(engine).upsert(str(bot_id), records)
    await engine.dispose()


async def setup_chat(client: httpx.AsyncClient, database_url: str, clients: int):
    email, password = f"bench-{uuid.uuid4().hex[:6]}@example.com", "bench password 123"
    r = await client.post(f"{API}/auth/register", json={"email": email, "password": password})
    r.raise_for_status()
    r = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    bot = (await client.post(f"{API}/bots", json={"name": "Bench"}, headers=headers)).json()
    chunks = synthetic_chunks(200)
    await index_bot(database_url, uuid.UUID(bot["id"]), [c for c, _ in chunks])
    conversations = []
    for _ in range(clients):
        r = await client.post(f"{API}/bots/{bot['id']}/conversations", json={}, headers=headers)
        conversations.append(r.json()["id"])
    return headers, conversations, [q for _, q in chunks]


# --- Load ------------------------------------------------------------------------------


async def run_load(client, clients: int, total: int, seconds: float, request) -> tuple[int, float]:
    """`clients` workers share `total` requests, stopping early at `seconds`."""
    remaining = total
    deadline = time.perf_counter() + seconds
    done = failures = 0

    async def worker(index: int) -> None:
        nonlocal remaining, done, failures
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            ok = await request(client, index)
            done += ok
            failures += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    if failures:
        print(f"warning: {failures} failed requests", file=sys.stderr)
    return done, elapsed


def chat_request(headers, conversations, questions, stream: bool):
    async def request(client: httpx.AsyncClient, index: int) -> bool:
        url = f"{API}/conversations/{conversations[index]}/messages"
        body = {"content": random.choice(questions)}
        if not stream:
            r = await client.post(url, json=body, headers=headers)
            return r.status_code == 200 and bool(r.json()["sources"])
        h = {**headers, "Accept": "text/event-stream"}
        async with client.stream("POST", url, json=body, headers=h) as r:
            text = (await r.aread()).decode()
        return "event: done" in text

    return request


async def bare_request(client: httpx.AsyncClient, index: int) -> bool:
    r = await client.post("/bench/bare", json={"content": "Who handles the kalomi?"})
    return r.status_code == 200


async def server_stats(client: httpx.AsyncClient) -> dict[str, list[float]]:
    return (await client.get("/bench/stats")).json()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000
        if ordered
        else float("nan")
    )


# --- Retrieval -------------------------------------------------------------------------


async def retrieval(database_url: str, sizes: list[int], queries: int, seconds: float):
    """p50 of LocalVectorStore.query (version check + cached matrix search) per namespace size,
    beside a bare dense NumPy top-k over the same vectors in memory. Chunks and questions are
    embedded by the local embedder, whose sparse vectors the store is built for."""
    from agent.embeddings.local import LocalEmbedder
    from agent.settings import AgentSettings
    from agent.types import EmbeddingTask, VectorRecord
    from agent.vectorstores.local import LocalVectorStore
    from app.core.db import create_engine

    embedder = LocalEmbedder(AgentSettings().local_embedding_dim)
    chunks = synthetic_chunks(max(sizes), seed=11)
    vectors = np.asarray(
        await embedder.embed([c for c, _ in chunks], EmbeddingTask.DOCUMENT), dtype=np.float32
    )
    rng = random.Random(5)
    questions = [q for _, q in rng.sample(chunks[: min(sizes)], min(queries, min(sizes)))]
    probes = await embedder.embed(questions, EmbeddingTask.QUERY)
    engine = create_engine(_async(database_url))
    store = LocalVectorStore(engine)
    rows = []
    for size in sizes:
        namespace = f"bench-{size}"
        matrix = vectors[:size]
        for start in range(0, size, 2000):
            await store.upsert(
                namespace,
                [
                    VectorRecord(f"doc:{start + i}", v.tolist(), {})
                    for i, v in enumerate(matrix[start : start + 2000])
                ],
            )
        await store.query(namespace, probes[0], 5)  # load the namespace once
        store_times, bare_times = [], []
        deadline = time.perf_counter() + seconds
        for probe in probes:
            if time.perf_counter() > deadline:
                break
            t = time.perf_counter()
            await store.query(namespace, probe, 5)
            store_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            scores = matrix @ np.asarray(probe, dtype=np.float32)
            top = np.argpartition(-scores, 5)[:5]
            top[np.argsort(-scores[top])]
            bare_times.append(time.perf_counter() - t)
        rows.append(
            (size, statistics.median(store_times) * 1000, statistics.median(bare_times) * 1000)
        )
    await engine.dispose()
    return rows


# --- Main ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until_up(base_url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.perf_counter() < deadline:
            if server.poll() is not None:
                raise SystemExit("the server exited during start-up")
            try:
                if (await client.get(f"{API}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not start in time")


async def measure(args, database_url: str) -> list[tuple]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("chat_server.py")), str(port), database_url]
    )
    try:
        await wait_until_up(base_url, server)
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
            headers, conversations, questions = await setup_chat(client, database_url, args.clients)
            turn = chat_request(headers, conversations, questions, stream=False)
            streamed = chat_request(headers, conversations, questions, stream=True)
            # Warm up both paths (imports, pools, the vector matrix), then forget the timings.
            await run_load(client, args.clients, args.clients * 2, 30, bare_request)
            await run_load(client, args.clients, args.clients * 2, 30, turn)
            await server_stats(client)
            bare_n, bare_s = await run_load(
                client, args.clients, args.turns, args.seconds, bare_request
            )
            bare = (await server_stats(client))["bare"]
            turn_n, turn_s = await run_load(client, args.clients, args.turns, args.seconds, turn)
            turns = (await server_stats(client))["turn"]
            # Time to first token, one client at a time: what the backend itself adds.
            await run_load(client, 1, args.ttft_samples, args.seconds, streamed)
            ttft = (await server_stats(client))["stream_ttft"]
            await run_load(client, 1, args.ttft_samples, args.seconds, bare_request)
            bare_single = (await server_stats(client))["bare"]
            await run_load(client, args.clients, args.turns // 2, args.seconds, streamed)
            ttft_loaded = (await server_stats(client))["stream_ttft"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare_rps, turn_rps = bare_n / bare_s, turn_n / turn_s
    return [
        ("chat turns/s (50 clients)", turn_rps, bare_rps, turn_rps / bare_rps, None, None),
        (
            "server time per turn p50 (ms)",
            pct(turns, 50),
            pct(bare, 50),
            pct(turns, 50) / pct(bare, 50),
            None,
            None,
        ),
        (
            "server time per turn p99 (ms)",
            pct(turns, 99),
            pct(bare, 99),
            pct(turns, 99) / pct(bare, 99),
            None,
            None,
        ),
        (
            "stream TTFT p50, 1 client (ms)",
            pct(ttft, 50),
            pct(bare_single, 50),
            pct(ttft, 50) / pct(bare_single, 50),
            None,
            None,
        ),
        (
            "stream TTFT p99, 1 client (ms)",
            pct(ttft, 99),
            pct(bare_single, 99),
            pct(ttft, 99) / pct(bare_single, 99),
            50.0,
            pct(ttft, 99) <= 50,
        ),
        (
            "stream TTFT p99, 50 clients (ms)",
            pct(ttft_loaded, 99),
            pct(bare, 99),
            pct(ttft_loaded, 99) / pct(bare, 99),
            None,
            None,
        ),
    ]


def print_table(rows: list[tuple]) -> None:
    print("| metric | measured | baseline | ratio | target | pass/fail |")
    print("|---|---|---|---|---|---|")
    for name, measured, baseline, ratio, target, ok in rows:
        target_text = f"≤ {target:g}" if target is not None else "-"
        verdict = "-" if ok is None else ("pass" if ok else "FAIL")
        print(
            f"| {name} | {measured:.2f} | {baseline:.2f} | {ratio:.2f}x | {target_text} | {verdict} |"
        )


async def main(args) -> None:
    name, url = await create_database(args.database_url)
    try:
        rows = await measure(args, url)
        for size, store_ms, bare_ms in await retrieval(url, args.sizes, args.queries, args.seconds):
            target = 15.0 if size == max(args.sizes) else None
            rows.append(
                (
                    f"retrieval p50 at {size:,} chunks (ms)",
                    store_ms,
                    bare_ms,
                    store_ms / bare_ms,
                    target,
                    None if target is None else store_ms <= target,
                )
            )
    finally:
        await drop_database(args.database_url, name)
    print_table(rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--turns", type=int, default=2000, help="requests per load phase (upper bound)"
    )
    parser.add_argument("--seconds", type=float, default=30, help="time bound per phase")
    parser.add_argument("--ttft-samples", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000, 50000]
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
