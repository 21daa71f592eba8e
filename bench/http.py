"""HTTP benchmark: one API process under wrk, against a bare FastAPI hello served the same way.

For each database (the embedded default on SQLite, and PostgreSQL), this starts in the same run:
- a bare FastAPI app answering `GET /hello` (uvicorn, uvloop + httptools, one process): the
  baseline every row is a ratio to;
- the real API (`uvicorn main:app`, the same flags, one process), on a fresh database.
wrk (2 threads, 32 connections; `apt install wrk`) generates the load from its own process,
so the figures measure the server, not a Python client sharing its cores. Streaming time to
first token is measured by one probe connection, alone and beside 31 wrk streams.

    python bench/http.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
                         [--modes sqlite,postgresql] [--duration 8] [--backend DIR]

`--backend` runs another checkout's backend (e.g. the code before a change) the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named after the stdlib's `http` package; keep its directory off the path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
API = "/api/v1"
CONNECTIONS, THREADS = 32, 2
# Answers come from these facts; the questions are worded differently.
FACTS = [
    ("Refunds are accepted within 30 days of purchase with a receipt.", "How many days do I have to ask for a refund?"),
    ("Standard shipping takes three to five business days inside the country.", "How long does standard shipping take?"),
    ("Support is open Monday to Friday from nine to five, Central European Time.", "When is support open?"),
    ("Gift cards never expire and can be used for any product in the store.", "Do gift cards expire?"),
    ("Orders above fifty euros ship for free; smaller orders pay a flat fee.", "Which orders ship for free?"),
    ("You can change your password from the account settings page at any time.", "How do I change my password?"),
    ("Invoices are emailed as PDF files the day after the order ships.", "When are invoices emailed?"),
    ("Damaged items are replaced at no cost when reported within a week.", "Are damaged items replaced?"),
]  # fmt: skip  # fmt: skip

BARE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/hello")
async def hello() -> dict:
    return {"hello": "world"}
"""


@dataclass
class Row:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


# --- Processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvicorn(app: str, cwd: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log",
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{app} exited:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{app} did not start:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(
    url: str, duration: float, script: str | None = None, connections: int = CONNECTIONS
) -> Row:
    command = [
        "wrk",
        "-t",
        str(THREADS),
        "-c",
        str(connections),
        "-d",
        f"{round(duration)}s",
        "--latency",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script or "")
    if script:
        command += ["-s", lua.name]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 60)
    os.unlink(lua.name)
    if out.returncode:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout}{out.stderr}")
    return parse_wrk(out.stdout)


def parse_wrk(text: str) -> Row:
    def latency(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return Row("", rps, latency("50"), latency("99"), errors)


def lua_requests(method: str, paths: list[str], headers: dict[str, str], bodies: list[str]) -> str:
    """A wrk script that cycles through `paths` and `bodies`."""
    return "\n".join(
        [
            f"local paths = {lua_list(paths)}",
            f"local bodies = {lua_list(bodies)}",
            *[f"wrk.headers[{lua_str(k)}] = {lua_str(v)}" for k, v in headers.items()],
            "local i = 0",
            "request = function()",
            "  i = i + 1",
            f"  return wrk.format({lua_str(method)}, paths[(i % #paths) + 1],"
            " nil, bodies[(i % #bodies) + 1])",
            "end",
        ]
    )


def lua_str(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join(lua_str(v) for v in values) + "}"


# --- Set-up through the API ------------------------------------------------------------


async def setup(base: str, backend: Path, env: dict[str, str]) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        email, password = f"bench-{uuid.uuid4().hex[:6]}@example.com", "bench password 123"
        body = {"email": email, "password": password, "full_name": "Bench"}
        (await client.post(f"{API}/auth/register", json=body)).raise_for_status()
        r = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
        jwt = {"Authorization": f"Bearer {r.raise_for_status().json()['access_token']}"}
        r = await client.post(f"{API}/api-keys", json={"name": "bench"}, headers=jwt)
        api_key = {"X-API-Key": r.raise_for_status().json()["key"]}
        r = await client.post(f"{API}/bots", json={"name": "Bench"}, headers=jwt)
        bot = r.raise_for_status().json()["id"]
        text = "\n\n".join(f"## Fact {i}\n\n{fact}" for i, (fact, _) in enumerate(FACTS))
        r = await client.post(
            f"{API}/bots/{bot}/documents/text",
            json={"title": "Handbook", "content": text},
            headers=jwt,
        )
        document = r.raise_for_status().json()["id"]
        ingest(backend, env, document)
        conversations = []
        for _ in range(CONNECTIONS):
            r = await client.post(f"{API}/bots/{bot}/conversations", json={}, headers=jwt)
            conversations.append(r.raise_for_status().json()["id"])
        for _, question in FACTS:  # every turn of the benchmark answers from a source
            url = f"{API}/conversations/{conversations[0]}/messages"
            r = await client.post(url, json={"content": question}, headers=jwt)
            assert r.raise_for_status().json()["sources"], f"no answer to {question!r}"
    return {"jwt": jwt, "api_key": api_key, "bot": bot, "conversations": conversations}


def ingest(backend: Path, env: dict[str, str], document_id: str) -> None:
    """Run the ingestion task's code for one document, in a child process (no broker needed)."""
    code = (
        "import asyncio, sys\n"
        "from app.core.config import get_settings\n"
        "from app.documents.ingest import process_queued\n"
        "from app.models import load_all_models\n"
        "from app.core import runtime as rt\n"
        "load_all_models()\n"
        "async def main():\n"
        "    runtime = rt.Runtime(get_settings())\n"
        "    assert sys.argv[1] in await process_queued(runtime)\n"
        "    await runtime.aclose()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code, document_id], cwd=backend, env=env, check=True)


# --- Time to first token -----------------------------------------------------------------


async def ttft_probe(base: str, ctx: dict, samples: int) -> list[float]:
    """Milliseconds from sending a streamed question to its first `token` event."""
    import httpx

    out = []
    headers = {**ctx["jwt"], "Accept": "text/event-stream"}
    conversation = ctx["conversations"][0]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(samples):
            body = {"content": FACTS[i % len(FACTS)][1], "stream": True}
            url = f"{API}/conversations/{conversation}/messages"
            started = time.perf_counter()
            first = None
            async with client.stream("POST", url, json=body, headers=headers) as r:
                async for chunk in r.aiter_bytes():
                    if first is None and b"event: token" in chunk:
                        first = (time.perf_counter() - started) * 1000
            if first is None:
                raise SystemExit("a stream ended without a token")
            out.append(first)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# --- One database ------------------------------------------------------------------------


def run_mode(mode: str, args: argparse.Namespace, backend: Path):
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-http-{mode}-"))
    database_url, drop = make_database(mode, args, data_dir, backend)
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")},
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-" + "x" * 40,
        "CELERY_BROKER_URL": "memory://",
        "PYTHONUNBUFFERED": "1",
        # The benchmark is one client address and one key hammering the API: lift the limits
        # (their cost is still paid on every request).
        **dict.fromkeys(
            (
                "RATE_LIMIT_PER_IP",
                "RATE_LIMIT_PER_PRINCIPAL",
                "RATE_LIMIT_CHAT",
                "REGISTER_RATE_LIMIT",
                "LOGIN_RATE_LIMIT",
            ),
            "100000000/minute",
        ),  # fmt: skip
    }
    bare_dir = data_dir / "bare"
    bare_dir.mkdir()
    (bare_dir / "bare.py").write_text(BARE_APP)
    bare_port, api_port = free_port(), free_port()
    bare = uvicorn("bare:app", bare_dir, bare_port, env, data_dir / "bare.log")
    api = uvicorn("main:app", backend, api_port, env, data_dir / "api.log")
    base = f"http://127.0.0.1:{api_port}"
    try:
        ctx = asyncio.run(setup(base, backend, env))
        return measure(args, base, f"http://127.0.0.1:{bare_port}", ctx)
    finally:
        stop(api)
        stop(bare)
        drop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def make_database(mode: str, args, data_dir: Path, backend: Path):
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    if mode == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'chatsphere.db'}"
        migrate(backend, {**env, "DATABASE_URL": url})
        return url, lambda: None  # the data dir goes with it
    import asyncpg

    admin = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"chatsphere_bench_{uuid.uuid4().hex[:8]}"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    migrate(backend, {**env, "DATABASE_URL": url})
    return url, lambda: asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate(backend: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=backend, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if proc.returncode:
        raise SystemExit(f"alembic failed:\n{proc.stderr[-3000:]}")


def measure(args, base: str, bare: str, ctx: dict):
    d = args.duration
    chat_paths = [f"{API}/conversations/{c}/messages" for c in ctx["conversations"]]
    questions = [json.dumps({"content": q}) for _, q in FACTS]
    streamed = [json.dumps({"content": q, "stream": True}) for _, q in FACTS]
    json_headers = {"Content-Type": "application/json"}
    wrk(f"{bare}/hello", 2)  # warm-up
    baseline = wrk(f"{bare}/hello", d)
    rows = [("bare `GET /hello`", baseline)]
    plans = [
        ("`GET /api/v1/health`", f"{base}{API}/health", None),
        (
            "`GET /api/v1/users/me`, JWT",
            f"{base}{API}/users/me",
            lua_requests("GET", [f"{API}/users/me"], ctx["jwt"], [""]),
        ),
        (
            "`GET /api/v1/bots`, API key",
            f"{base}{API}/bots",
            lua_requests("GET", [f"{API}/bots"], ctx["api_key"], [""]),
        ),
        (
            "`POST /bots/{id}/search`",
            f"{base}{API}/bots",
            lua_requests(
                "POST",
                [f"{API}/bots/{ctx['bot']}/search"],
                {**ctx["jwt"], **json_headers},
                [json.dumps({"query": q}) for _, q in FACTS],
            ),
        ),
        (
            "chat turn, local answerer, non-streaming",
            f"{base}{API}/bots",
            lua_requests("POST", chat_paths, {**ctx["jwt"], **json_headers}, questions),
        ),
    ]
    for name, url, script in plans:
        wrk(url, 1, script)  # warm-up: caches, pools, the vector matrix
        rows.append((name, wrk(url, d, script)))
    alone = asyncio.run(ttft_probe(base, ctx, args.ttft_samples))
    stream_script = lua_requests(
        "POST", chat_paths[1:], {**ctx["jwt"], **json_headers, "Accept": "text/event-stream"},
        streamed,
    )  # fmt: skip
    load = subprocess.Popen(
        ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS - 1), "-d", f"{round(d) + 30}s",
         "-s", write_temp(stream_script), f"{base}{API}/bots"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    try:
        loaded = asyncio.run(ttft_probe(base, ctx, args.ttft_samples))
    finally:
        load.terminate()
        load.wait()
    return rows, alone, loaded


def write_temp(text: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(text)
    return f.name


# (row, database) -> target ratio to the bare hello, from issue 9.
TARGETS = {
    ("`GET /api/v1/health`", None): 0.6,
    ("`GET /api/v1/bots`, API key", "postgresql"): 0.15,
    ("`GET /api/v1/bots`, API key", "sqlite"): 0.12,
    ("chat turn, local answerer, non-streaming", "postgresql"): 0.02,
    ("chat turn, local answerer, non-streaming", "sqlite"): 0.015,
}
TTFT_TARGETS = {1: 50.0, CONNECTIONS: 200.0}


def report(mode: str, rows, alone: list[float], loaded: list[float]) -> bool:
    baseline = rows[0][1].rps
    ok = True
    print(f"\n### {mode}: one API process, wrk {THREADS} threads x {CONNECTIONS} connections\n")
    print("| request | req/s | ratio to bare | p50 ms | p99 ms | errors | target | result |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in rows:
        ratio = row.rps / baseline
        target = TARGETS.get((name, mode), TARGETS.get((name, None)))
        passed = target is None or (ratio >= target and row.errors == 0)
        ok &= passed and row.errors == 0
        print(
            f"| {name} | {row.rps:,.0f} | {ratio:.3f}x | {row.p50_ms:.2f} | {row.p99_ms:.2f} "
            f"| {row.errors} | {'-' if target is None else f'>= {target}x'} "
            f"| {'-' if target is None else ('pass' if passed else 'FAIL')} |"
        )
    for connections, samples in ((1, alone), (CONNECTIONS, loaded)):
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        target = TTFT_TARGETS[connections]
        ok &= p99 <= target
        print(
            f"| streaming TTFT, {connections} connection{'s' if connections > 1 else ''} "
            f"({len(samples)} probes) | - | - | {p50:.2f} | {p99:.2f} | 0 | p99 <= {target:g} ms "
            f"| {'pass' if p99 <= target else 'FAIL'} |"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", default="sqlite,postgresql")
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/test",
        help="an admin URL of the PostgreSQL server; a throwaway database is made beside it",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--ttft-samples", type=int, default=200)
    parser.add_argument("--backend", type=Path, default=REPO / "backend")
    parser.add_argument("--keep", action="store_true", help="keep data dirs and logs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    ok = True
    for mode in args.modes.split(","):
        rows, alone, loaded = run_mode(mode, args, args.backend.resolve())
        ok &= report(mode, rows, alone, loaded)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
