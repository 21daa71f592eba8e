"""Widget benchmark: one API process holding N concurrent visitor streams (issue 8).

The API is the real app (`bench/widget_app/widget_server.py`) with a fake LLM that trickles a token every
100 ms, 300 tokens per answer, on the embedded default. In the same run:
- the fake LLM called directly gives the floor for time to first token (its first token);
- a new visitor's time to first token is measured alone, then while N streams are open;
- N visitors (each with its own session) open streams, ramping up, from a separate process
  with raw sockets (so the load generator stays light), and hold them until they finish.
Reported: errors, API RSS idle and with every stream open (per stream), TTFT p50/p99, and
the size of widget.js gzipped.

    python bench/widget.py [--streams 1000] [--probes 20]
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
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "backend"
API = "/api/v1"
ORIGIN = "https://bench.example.com"
TRICKLE_MS, TOKENS = 100, 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def setup(base: str, sessions: int) -> tuple[str, list[str]]:
    async with httpx.AsyncClient(base_url=base + API, timeout=60) as client:
        body = {"email": "bench@example.com", "password": "bench password 123", "full_name": "B"}
        (await client.post("/auth/register", json=body)).raise_for_status()
        r = await client.post("/auth/login", json={k: body[k] for k in ("email", "password")})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        bot = (await client.post("/bots", json={"name": "Bench", "agent_type": "chat",
                                                "allowed_origins": [ORIGIN]}, headers=auth)).json()  # fmt: skip
        key = bot["public_key"]
        tokens = []
        for _ in range(sessions):
            r = await client.post(f"/widget/{key}/sessions", json={}, headers={"Origin": ORIGIN})
            tokens.append(r.raise_for_status().json()["session_token"])
    return key, tokens


async def ttft(base: str, key: str, token: str) -> float:
    """Milliseconds from sending a question to its first token event, over a new connection."""
    async with httpx.AsyncClient(base_url=base + API, timeout=60) as client:
        started = time.perf_counter()
        async with client.stream(
            "POST", f"/widget/{key}/messages", json={"content": "hello?"},
            headers={"Origin": ORIGIN, "Authorization": f"Bearer {token}"},
        ) as r:  # fmt: skip
            r.raise_for_status()
            async for line in r.aiter_lines():
                if line == "event: token":
                    return (time.perf_counter() - started) * 1000
    raise RuntimeError("no token")


async def llm_direct(probes: int) -> list[float]:
    sys.path.insert(0, str(BACKEND))
    sys.path.insert(0, str(REPO / "bench" / "widget_app"))
    os.environ.update(TRICKLE_MS=str(TRICKLE_MS), TRICKLE_TOKENS=str(TOKENS))
    from trickle import TricklingLLM  # the server's own fake

    llm, out = TricklingLLM(), []
    for _ in range(probes):
        started = time.perf_counter()
        stream = llm.stream([], system="", config=None)  # type: ignore[arg-type]
        await anext(stream)
        out.append((time.perf_counter() - started) * 1000)
        await stream.aclose()
    return out


HOLDER = r"""
import asyncio, json, sys, time
host, port, key, origin, ramp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
tokens = json.load(sys.stdin)
state = {"open": 0, "first": 0, "done": 0, "errors": 0}
async def one(token, gate):
    body = b'{"content": "hello?"}'
    req = (f"POST /api/v1/widget/{key}/messages HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {origin}\r\n"
           f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    try:
        async with gate:  # ramp up: this many turns starting at once, then they stay open
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            state["errors"] += 1; return
        state["open"] += 1
        seen, got_first = b"", False
        while True:
            chunk = await reader.read(65536)
            if not chunk: break
            window, seen = seen + chunk, chunk[-16:]
            if not got_first and b"event: token" in window:
                got_first = True; state["first"] += 1
            if b"event: done" in window:
                state["done"] += 1; break
            if b"event: error" in window:
                state["errors"] += 1; break
        writer.close()
    except Exception:
        state["errors"] += 1
async def main():
    gate = asyncio.Semaphore(ramp)
    async def report():
        while True:
            print(json.dumps(state), flush=True); await asyncio.sleep(0.5)
    reporter = asyncio.create_task(report())
    await asyncio.gather(*(one(t, gate) for t in tokens))
    reporter.cancel()
    print(json.dumps(state), flush=True)
    print("END", flush=True)
asyncio.run(main())
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    many = "100000000/minute"
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")},
        "DATA_DIR": str(data), "SECRET_KEY": "bench-" + "x" * 40, "CELERY_BROKER_URL": "memory://",
        "PYTHONPATH": str(REPO / "bench" / "widget_app"), "ACCESS_LOG": "false", "LOG_LEVEL": "WARNING",
        "TRICKLE_MS": str(TRICKLE_MS), "TRICKLE_TOKENS": str(TOKENS), "PUBLIC_BASE_URL": base,
        "RATE_LIMIT_PER_IP": many, "REGISTER_RATE_LIMIT": many, "LOGIN_RATE_LIMIT": many,
        "WIDGET_IP_RATE_LIMIT": many, "WIDGET_SESSION_RATE_LIMIT": many,
        "WIDGET_BOT_DAILY_LIMIT": "100000000", "DB_POOL_SIZE": "20",
    }  # fmt: skip
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=BACKEND, env=env,
                   check=True, capture_output=True)  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "widget_server:app", "--port", str(port),
               "--loop", "uvloop", "--http", "httptools", "--no-access-log",
               "--backlog", "4096", "--timeout-keep-alive", "120"]  # fmt: skip
    log = open(data / "api.log", "wb")
    api = subprocess.Popen(command, cwd=BACKEND, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}{API}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit((data / "api.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        key, tokens = asyncio.run(setup(base, args.streams + 2 * args.probes))
        probes_alone, probes_loaded = tokens[: args.probes], tokens[args.probes : 2 * args.probes]
        holders = tokens[2 * args.probes :]

        direct = asyncio.run(llm_direct(args.probes))
        alone = [asyncio.run(ttft(base, key, t)) for t in probes_alone]
        idle_rss = rss_kb(api.pid)

        holder = subprocess.Popen([sys.executable, "-c", HOLDER, "127.0.0.1", str(port), key,
                                   ORIGIN, "100"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)  # fmt: skip
        assert holder.stdin and holder.stdout
        holder.stdin.write(json.dumps(holders))
        holder.stdin.close()
        started, state = time.monotonic(), {}
        while True:  # until every stream has its first token (all open at once)
            line = holder.stdout.readline()
            if not line or line.strip() == "END":
                break
            state = json.loads(line)
            if state["first"] + state["errors"] >= len(holders):
                break
        ramp_s = time.monotonic() - started
        all_open = state.get("first", 0) == len(holders) and state.get("done", 0) == 0
        open_rss = rss_kb(api.pid)
        loaded = [asyncio.run(ttft(base, key, t)) for t in probes_loaded]
        still_open = state.get("done", 0) == 0
        for line in holder.stdout:
            if line.strip() == "END":
                break
            state = json.loads(line)
        holder.wait()
    finally:
        api.terminate()
        api.wait(timeout=20)
        log.close()
        shutil.rmtree(data, ignore_errors=True)

    script = (BACKEND / "app/widget/static/widget.js").read_bytes()
    gz = len(gzip.compress(script, compresslevel=9))
    per_stream = (open_rss - idle_rss) / len(holders)
    rows = [
        ("streams open at once", f"{state['first']} of {len(holders)}", "-", f">= {len(holders)}",
         all_open and state["first"] == len(holders)),
        ("errors", str(state["errors"]), "-", "0", state["errors"] == 0),
        ("streams that finished with `done`", str(state["done"]), "-", str(len(holders)),
         state["done"] == len(holders)),
        ("API RSS idle -> all open (MB)", f"{idle_rss / 1024:.0f} -> {open_rss / 1024:.0f}", "-", "-", None),
        ("API RSS per open stream (KB)", f"{per_stream:.1f}", "-", "<= 100", per_stream <= 100),
        ("TTFT p50, new visitor, streams open (ms)", f"{percentile(loaded, 50):.0f}",
         f"{percentile(direct, 50):.0f} LLM direct, {percentile(alone, 50):.0f} alone", "-", None),
        ("TTFT p99, new visitor, streams open (ms)", f"{percentile(loaded, 99):.0f}",
         f"{percentile(direct, 99):.0f} LLM direct, {percentile(alone, 99):.0f} alone", "-", None),
        ("time until all streams had a token (s)", f"{ramp_s:.1f}", "-", "-", None),
        ("probes taken while all streams were open", str(still_open), "-", "True", still_open),
        ("widget.js gzipped (bytes)", str(gz), "-", "<= 15360", gz <= 15360),
    ]  # fmt: skip
    print(
        f"\n### widget: {len(holders)} visitor streams, one API process, a token every "
        f"{TRICKLE_MS} ms ({TOKENS} per answer), embedded SQLite\n"
    )
    print("| metric | measured | baseline (same run) | target | result |")
    print("|---|---|---|---|---|")
    ok = True
    for name, value, baseline, target, passed in rows:
        result = "-" if passed is None else ("pass" if passed else "FAIL")
        ok = ok and passed is not False
        print(f"| {name} | {value} | {baseline} | {target} | {result} |")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
