"""Browser tests: Debian's Chromium driven by Playwright, against `python -m app.serve` (what
Docker runs) on the embedded default, with host pages served from another origin.

Chromium missing: skipped locally, a failure in CI (REQUIRE_SERVICES=1)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND_DIR, REQUIRE_SERVICES, SECRET

API = "/api/v1"
_INGEST = """
import asyncio, sys
from app.core.config import get_settings
from app.core.runtime import Runtime
from app.documents.ingest import process_queued
from app.models import load_all_models
load_all_models()
async def main():
    runtime = Runtime(get_settings())
    ran = await process_queued(runtime)
    assert set(sys.argv[1:]) <= set(ran), (sys.argv[1:], ran)
    await runtime.aclose()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return path


# Module scope: sync Playwright runs an event loop of its own while it is open, and the
# suite's async tests need theirs.
@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Server:
    base: str
    env: dict[str, str]

    def ingest(self, *document_ids: str) -> None:
        """Index documents as a worker would, in a child process."""
        subprocess.run([sys.executable, "-c", _INGEST, *document_ids], cwd=BACKEND_DIR,
                       env=self.env, check=True, capture_output=True)  # fmt: skip


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """The API as deployed, one process, on a fresh embedded database."""
    port = free_port()
    data = tmp_path_factory.mktemp("browser-data")
    env = {
        "PATH": os.environ["PATH"], "DATA_DIR": str(data), "SECRET_KEY": SECRET,
        "PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CELERY_BROKER_URL": "memory://", "REGISTER_RATE_LIMIT": "1000/minute",
        "LOGIN_RATE_LIMIT": "1000/minute", "WIDGET_SESSION_RATE_LIMIT": "1000/hour",
    }  # fmt: skip
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=BACKEND_DIR,
                   env=env, check=True, capture_output=True)  # fmt: skip
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.serve"], cwd=BACKEND_DIR, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}{API}/health", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError((data / "server.log").read_text()[-3000:]) from None
            time.sleep(0.1)
    yield Server(base, env)
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@dataclass
class HostSite:
    """Static pages on an origin of their own (another port and host name than the API)."""

    root: Path
    origin: str

    def page(self, name: str, html: str) -> str:
        (self.root / name).write_text(html)
        return f"{self.origin}/{name}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the browser closing a kept-alive connection is not news


def serve_directory(root: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture(scope="session")
def host_site(tmp_path_factory) -> Iterator[HostSite]:
    root = tmp_path_factory.mktemp("host-site")
    httpd = serve_directory(root)
    yield HostSite(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.shutdown()


def make_owner(base: str) -> dict[str, str]:
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": "correct horse battery", "full_name": "Owner"}
    with httpx.Client(base_url=f"{base}{API}") as http_client:
        assert http_client.post("/auth/register", json=body).status_code == 201
        r = http_client.post("/auth/login", json={"email": email, "password": body["password"]})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}
