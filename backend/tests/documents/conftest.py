"""Fixtures for ingestion through real Celery workers (committed-mode database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conftest import TEST_REDIS_URL
from tests.documents.worker import Worker, new_queue, sending_to


@pytest.fixture(scope="module")
def broker_url(database_url, tmp_path_factory) -> str:
    """Redis when the CI gives one (with PostgreSQL), else the embedded SQLite broker."""
    if TEST_REDIS_URL and database_url.startswith("postgresql"):
        return TEST_REDIS_URL
    return f"sqla+sqlite:///{tmp_path_factory.mktemp('broker') / 'broker.sqlite'}"


def start_workers(
    tmp_path_factory, database_url: str, broker_url: str, count: int, **kwargs
) -> list[Worker]:
    """`count` worker processes on one new queue and one data dir."""
    data_dir, queue = tmp_path_factory.mktemp("worker-data"), new_queue()
    return [
        Worker(data_dir, database_url, broker_url, queue, **kwargs).start() for _ in range(count)
    ]


def start_worker(tmp_path_factory, database_url: str, broker_url: str, **kwargs) -> Worker:
    return start_workers(tmp_path_factory, database_url, broker_url, 1, **kwargs)[0]


@contextmanager
def serving(worker: Worker, settings, live_runtime) -> Iterator[Worker]:
    """The API under test shares the worker's data dir and sends its jobs to its queue."""
    settings.data_dir = worker.data_dir
    with sending_to(live_runtime, worker.broker_url, worker.queue):
        yield worker


@pytest.fixture(scope="module")
def local_worker(tmp_path_factory, database_url, broker_url):
    """One worker on the embedded defaults (local embedder, local vector store) per module."""
    worker = start_worker(tmp_path_factory, database_url, broker_url)
    yield worker
    worker.stop()


@pytest.fixture
def on_worker(local_worker, settings, live_runtime):
    with serving(local_worker, settings, live_runtime):
        yield local_worker
