"""Real Celery worker processes for the ingestion tests.

A worker is `celery -A tests.documents.celery_test_app worker`: the app's own Celery app and
tasks, consuming a queue private to this test run (other engineers' workers may share the
Redis database). Every wait is bounded and every worker is killed, with its children, at
the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.core.celery_app import build_celery
from app.core.config import Settings
from app.core.runtime import Runtime
from tests.conftest import BACKEND_DIR, SECRET

READY_TIMEOUT = 60.0
# Settings a developer's shell may carry that must not leak into a test worker.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


class Worker:
    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        broker_url: str,
        queue: str,
        env: dict[str, str] | None = None,
        concurrency: int = 1,
    ) -> None:
        self.data_dir = data_dir
        self.broker_url = broker_url
        self.queue = queue
        self.concurrency = concurrency
        self.log_path = data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.env = {k: os.environ[k] for k in _PASSED_THROUGH if k in os.environ}
        self.env.update(
            {
                "ENVIRONMENT": "test",
                "SECRET_KEY": SECRET,
                "DATA_DIR": str(data_dir),
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": broker_url,
                "CELERY_QUEUE": queue,
                "LOG_JSON": "false",
                "LOG_LEVEL": "INFO",
                "INGEST_MAX_RETRIES": "1",
                "INGEST_RETRY_BACKOFF_SECONDS": "1",
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            }
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.documents.celery_test_app",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(self.concurrency),
            "-Q",
            self.queue,
            "-n",
            f"docs-{uuid.uuid4().hex[:8]}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with open(self.log_path, "ab") as log:
            # Its own process group, so killing it takes the pool children along.
            self.process = subprocess.Popen(
                command,
                cwd=BACKEND_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if " ready." in self.log():
                return
            time.sleep(0.2)
        self.kill()
        raise TimeoutError(f"worker not ready after {READY_TIMEOUT}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def stop(self) -> None:
        # Tests need no graceful shutdown; a warm one can wait on the broker for long.
        self.kill(signal.SIGKILL)


@contextmanager
def sending_to(runtime: Runtime, broker_url: str, queue: str) -> Iterator[None]:
    """Send the jobs of `runtime` (the API under test) to a test worker's broker and queue."""
    settings = Settings(
        _env_file=None,
        **{**runtime.settings.model_dump(), "celery_broker_url": broker_url, "celery_queue": queue},
    )
    saved = runtime.__dict__.pop("celery", None)
    runtime.__dict__["celery"] = build_celery(settings)
    try:
        yield
    finally:
        runtime.__dict__.pop("celery", None)
        if saved is not None:
            runtime.__dict__["celery"] = saved


def new_queue() -> str:
    return f"docs-test-{uuid.uuid4().hex[:10]}"


async def wait_for(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    document_id: str,
    statuses: tuple[str, ...] = ("ready", "failed"),
    timeout: float = 60.0,
    worker: Worker | None = None,
    progress_over: int | None = None,
) -> dict:
    """Poll a document until it reaches one of `statuses` (or passes a progress); bounded."""
    deadline = time.monotonic() + timeout
    doc: dict = {}
    while time.monotonic() < deadline:
        r = await client.get(f"/api/v1/documents/{document_id}", headers=headers)
        assert r.status_code == 200, r.text
        doc = r.json()
        if doc["status"] in statuses:
            return doc
        if (
            progress_over is not None
            and doc["status"] == "processing"
            and doc["progress"] > progress_over
        ):
            return doc
        await asyncio.sleep(0.1)
    tail = worker.log()[-4000:] if worker else ""
    raise AssertionError(
        f"document {document_id} still {doc.get('status')} after {timeout}s\n{tail}"
    )


def assert_ready(doc: dict, worker: Worker | None = None) -> None:
    if doc["status"] != "ready":
        tail = worker.log()[-4000:] if worker else ""
        raise AssertionError(f"{doc['filename']}: {doc['status']} ({doc['error']})\n{tail}")
