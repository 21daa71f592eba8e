"""Schemathesis against the running server: every operation in /openapi.json, fed inputs
generated from its own schema (and broken ones), never answers 5xx, and every refusal
comes in SPEC's error envelope (OpenAI's error shape under /api/v1/openai/).

The server is `python -m app.serve`, as deployed, on the suite's database. Requests carry a
real owner's API key, and half of the generated cases aim at the owner's real bot,
conversation and document, so that the fuzzer gets past the 404s into the handlers.
`FUZZ_EXAMPLES` raises the number of cases per operation (default 25); generation is
derandomised so that CI is repeatable."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BACKEND_DIR, SECRET, _empty_all_tables
from tests.fakes.server import FakeServer
from tests.fakes.stripe import FakeStripe

API = "/api/v1"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# Operations whose success would cut the rest of the run short, fuzzed last.
LAST = ("DELETE",)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(
    database_url: str, data_dir: str, stripe_url: str
) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"], "DATA_DIR": data_dir, "SECRET_KEY": SECRET,
        "PORT": str(port), "DATABASE_URL": database_url, "CELERY_BROKER_URL": "memory://",
        "RATE_LIMIT_PER_IP": "1000000/minute", "RATE_LIMIT_PER_PRINCIPAL": "1000000/minute",
        "RATE_LIMIT_CHAT": "1000000/minute", "REGISTER_RATE_LIMIT": "1000000/minute",
        "LOGIN_RATE_LIMIT": "1000000/minute", "ACCESS_LOG": "false", "LOG_LEVEL": "ERROR",
        # Billing against the fake Stripe, so that its routes are fuzzed past "not configured".
        "STRIPE_SECRET_KEY": "sk_test_fake", "STRIPE_WEBHOOK_SECRET": "whsec_fuzz",
        "STRIPE_API_BASE": stripe_url, "STRIPE_PRICE_PRO": "price_pro",
        "STRIPE_PRICE_BUSINESS": "price_business",
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.serve"], cwd=BACKEND_DIR, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}{API}/health", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise TimeoutError(f"the server did not start: {proc.stderr.read() if proc.stderr else ''}")


def _owner(base: str) -> tuple[dict[str, str], dict[str, str]]:
    """A real owner with an API key, a bot, a document and a conversation."""
    with httpx.Client(base_url=f"{base}{API}", timeout=30) as http:
        body = {"email": "fuzz@example.com", "password": "correct horse battery", "full_name": "F"}
        assert http.post("/auth/register", json=body).status_code == 201
        login = http.post("/auth/login", json={k: body[k] for k in ("email", "password")})
        jwt = {"Authorization": f"Bearer {login.json()['access_token']}"}
        key = http.post("/api-keys", json={"name": "fuzz"}, headers=jwt).json()["key"]
        auth = {"X-API-Key": key}
        bot = http.post("/bots", json={"name": "Fuzz"}, headers=auth).json()
        doc = http.post(
            f"/bots/{bot['id']}/documents/text",
            json={"title": "t", "content": "Refunds take 30 days."},
            headers=auth,
        ).json()
        conv = http.post(f"/bots/{bot['id']}/conversations", json={}, headers=auth).json()
        ids = {
            "bot_id": bot["id"], "document_id": doc["id"], "conversation_id": conv["id"],
            "public_key": bot["public_key"], "model": bot["id"],
        }  # fmt: skip
    return auth, ids


def _header(response, name: str) -> str | None:
    values = {k.lower(): v for k, v in response.headers.items()}.get(name)
    return values[0] if isinstance(values, list) else values


def _check_refusal(path: str, response) -> None:
    """A 4xx in the envelope of its route family."""
    if response.status_code == 304:
        return
    body = response.json()
    error = body["error"]
    if path.startswith(f"{API}/openai/"):
        assert isinstance(error["message"], str) and error["type"], body
    else:
        assert isinstance(error["code"], str) and error["code"], body
        assert isinstance(error["message"], str), body
        assert error["request_id"] == _header(response, "x-request-id"), body


def _fuzz(base: str, auth: dict[str, str], ids: dict[str, str]) -> Counter:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.method.upper() in LAST, op.path))
    statuses: Counter = Counter()
    failures: list[str] = []

    for op in operations:
        _fuzz_operation(op, base, auth, ids, statuses, failures)
    assert not failures, "\n\n".join(failures)
    return statuses


def _fuzz_operation(op, base, auth, ids, statuses: Counter, failures: list[str]) -> None:
    if True:

        @settings(
            max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck), print_blob=True,
        )  # fmt: skip
        @given(case=op.as_strategy(), aim=st.booleans())
        def run(case, aim):
            if aim and case.path_parameters:
                for name in case.path_parameters:
                    if name in ids:
                        case.path_parameters[name] = ids[name]
            headers = {**auth, **(case.headers or {})}
            response = case.call(base_url=base, headers=headers, timeout=30)
            statuses[(op.method.upper(), op.path, response.status_code // 100)] += 1
            assert response.status_code < 500, (
                f"{op.method.upper()} {op.path} -> {response.status_code}: "
                f"{response.text[:300]}\n{case.as_curl_command(headers=headers)}"
            )
            if response.status_code >= 400:
                _check_refusal(op.path, response)

        try:
            run()
        except (AssertionError, KeyError, ValueError) as exc:
            failures.append(str(exc))


async def test_no_generated_request_gets_a_server_error(database_url, engine, tmp_path):
    with FakeServer() as server:
        stripe = FakeStripe(server)
        proc, base = _start_server(database_url, str(tmp_path / "data"), stripe.url)
        await _fuzz_server(proc, base, engine)
    assert stripe.customers, "billing was reached"


async def _fuzz_server(proc: subprocess.Popen, base: str, engine) -> None:
    try:
        auth, ids = await asyncio.to_thread(_owner, base)
        statuses = await asyncio.to_thread(_fuzz, base, auth, ids)
    finally:
        proc.kill()
        proc.wait()
        await _empty_all_tables(engine)
    operations = {(method, path) for method, path, _ in statuses}
    # It really reached the API: every operation was called, and handlers said yes too.
    assert len(operations) >= 40, sorted(operations)
    assert sum(n for (_, _, klass), n in statuses.items() if klass == 2) >= 50, statuses
    print(f"\nfuzzed {len(operations)} operations, {sum(statuses.values())} requests")
