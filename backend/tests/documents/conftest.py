"""Fixtures for ingestion through real Celery workers (committed-mode database)."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_REDIS_URL
from tests.documents.worker import Worker, new_queue, sending_to


@pytest.fixture(scope="module")
def broker_url(database_url, tmp_path_factory) -> str:
    """Redis when the CI gives one (with PostgreSQL), else the embedded SQLite broker."""
    if TEST_REDIS_URL and database_url.startswith("postgresql"):
        return TEST_REDIS_URL
    return f"sqla+sqlite:///{tmp_path_factory.mktemp('broker') / 'broker.sqlite'}"


def start_worker(tmp_path_factory, database_url: str, broker_url: str, **kwargs) -> Worker:
    data_dir = tmp_path_factory.mktemp("worker-data")
    return Worker(data_dir, database_url, broker_url, new_queue(), **kwargs).start()


@pytest.fixture(scope="module")
def local_worker(tmp_path_factory, database_url, broker_url):
    """One worker on the embedded defaults (local embedder, local vector store) per module."""
    worker = start_worker(tmp_path_factory, database_url, broker_url)
    yield worker
    worker.stop()


@pytest.fixture
def on_worker(local_worker, settings, live_runtime):
    """The API under test shares the worker's data dir and sends its jobs to it."""
    settings.data_dir = local_worker.data_dir
    with sending_to(live_runtime, local_worker.broker_url, local_worker.queue):
        yield local_worker
