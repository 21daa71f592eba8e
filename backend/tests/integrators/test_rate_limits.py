"""Limits on the whole API: per client address before authentication, per API key or user,
and for chat turns; each answers 429 with Retry-After, and every response says where it
stands (RateLimit-Limit, -Remaining, -Reset)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import BACKEND_DIR, SECRET

API = "/api/v1"

pytestmark = pytest.mark.usefixtures("clear_of_window_boundary")


def _limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["RateLimit-Remaining"] == "0"


async def test_every_response_carries_rate_limit_headers(client, owner):
    r = await client.get(f"{API}/bots", headers=owner)
    assert r.status_code == 200
    assert int(r.headers["RateLimit-Limit"]) > 0
    assert 0 <= int(r.headers["RateLimit-Remaining"]) < int(r.headers["RateLimit-Limit"])
    assert int(r.headers["RateLimit-Reset"]) >= 1


async def test_an_api_key_is_limited_per_minute(client, owner, settings):
    settings.rate_limit_per_principal = "5/minute"
    key = (await client.post(f"{API}/api-keys", json={"name": "k"}, headers=owner)).json()["key"]
    headers = {"X-API-Key": key}
    remaining = [
        int((await client.get(f"{API}/bots", headers=headers)).headers["RateLimit-Remaining"])
        for _ in range(5)
    ]
    assert remaining == [4, 3, 2, 1, 0]
    _limited(await client.get(f"{API}/bots", headers=headers))
    # Another key of the same owner has its own budget.
    settings.rate_limit_per_principal = "600/minute"
    other = (await client.post(f"{API}/api-keys", json={"name": "o"}, headers=owner)).json()
    assert (await client.get(f"{API}/bots", headers={"X-API-Key": other["key"]})).status_code == 200


async def test_every_request_counts_against_its_address_first(client, settings):
    settings.rate_limit_per_ip = "3/minute"
    for _ in range(3):
        assert (await client.get(f"{API}/users/me")).status_code == 401
    _limited(await client.get(f"{API}/users/me"))
    assert (await client.get(f"{API}/health")).status_code == 200  # load balancers probe freely


async def test_chat_turns_have_a_limit_of_their_own(client, owner, settings):
    settings.rate_limit_chat = "2/minute"
    bot = (await client.post(f"{API}/bots", json={"name": "B"}, headers=owner)).json()
    conversation = (
        await client.post(f"{API}/bots/{bot['id']}/conversations", json={}, headers=owner)
    ).json()
    url = f"{API}/conversations/{conversation['id']}/messages"
    assert (await client.post(url, json={"content": "hi"}, headers=owner)).status_code == 200
    _limited(await client.post(url, json={"content": "again"}, headers=owner))
    assert (await client.get(url, headers=owner)).status_code == 200  # reading is not a turn


async def test_registration_is_limited_per_address(client, settings):
    settings.register_rate_limit = "2/minute"
    for i in range(2):
        body = {"email": f"r{i}@example.com", "password": "long enough 1", "full_name": "R"}
        assert (await client.post(f"{API}/auth/register", json=body)).status_code == 201
    body = {"email": "r9@example.com", "password": "long enough 1", "full_name": "R"}
    _limited(await client.post(f"{API}/auth/register", json=body))


async def test_wrong_current_passwords_count_like_wrong_logins(client, owner, settings):
    settings.login_rate_limit = "3/minute"
    change = {"password": "a new password", "current_password": "wrong guess!"}
    for _ in range(3):
        r = await client.patch(f"{API}/users/me", json=change, headers=owner)
        assert r.status_code == 401
    _limited(await client.patch(f"{API}/users/me", json=change, headers=owner))


# --- Client addresses behind a proxy: uvicorn's own --forwarded-allow-ips ------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(tmp_path, database_url):
    """`python -m app.serve` (what Docker runs), with a small login limit."""
    if not database_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the proxy headers")
    started: list[subprocess.Popen] = []

    def start(forwarded_allow_ips: str) -> str:
        port = _free_port()
        env = {
            "PATH": os.environ["PATH"], "DATA_DIR": str(tmp_path / f"d{port}"),
            "SECRET_KEY": SECRET, "PORT": str(port), "LOGIN_RATE_LIMIT": "3/minute",
            "FORWARDED_ALLOW_IPS": forwarded_allow_ips, "CELERY_BROKER_URL": "memory://",
        }  # fmt: skip
        subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=BACKEND_DIR,
                       env=env, check=True, capture_output=True)  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "app.serve"], cwd=BACKEND_DIR, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        started.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}{API}/health", timeout=1)
                return f"http://127.0.0.1:{port}"
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError("the server did not start")

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _logins(base: str, forwarded_for: list[str]) -> list[int]:
    body = {"email": "nobody@example.com", "password": "wrong password"}
    return [
        httpx.post(
            f"{base}{API}/auth/login", json=body, headers={"X-Forwarded-For": ip}
        ).status_code
        for ip in forwarded_for
    ]


def test_an_untrusted_peer_cannot_pick_its_address(serve):
    base = serve("10.9.9.9")  # a proxy that is not the peer: X-Forwarded-For is ignored
    codes = _logins(base, [f"203.0.113.{i}" for i in range(5)])
    assert codes == [401, 401, 401, 429, 429]


def test_a_trusted_proxy_passes_the_client_address(serve):
    base = serve("127.0.0.1")  # the peer is the proxy
    # Different clients behind it, each under its own limit (the email's limit aside).
    codes = _logins(base, [f"203.0.113.{i}" for i in range(3)])
    assert codes == [401, 401, 401]
