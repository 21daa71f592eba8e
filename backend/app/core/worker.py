"""Celery worker processes: the app they run, and the Runtime each of them owns.

`backend/worker.py` is the entry point (`celery -A worker worker`, `celery -A worker beat`).
Each worker process builds one Runtime after the fork, with its own event loop that lives as
long as the process (asyncpg connections belong to a loop), and tasks run on it through
`run_in_worker`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from celery import Celery
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
)

from app.core.celery_app import build_celery
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.core.runtime import Runtime

T = TypeVar("T")

_process: tuple[asyncio.AbstractEventLoop, Runtime] | None = None
_app: tuple[Celery, Settings] | None = None


def create_worker_app(settings: Settings | None = None) -> Celery:
    """The Celery app of a worker (or beat) process, with its process hooks connected."""
    global _app
    settings = settings or get_settings()
    settings.prepare_data_dir()
    app = build_celery(settings)
    _app = (app, settings)
    # Connected once per process; `dispatch_uid` keeps a second call from doubling them.
    worker_process_init.connect(_start_process, weak=False, dispatch_uid="chatsphere-init")
    worker_process_shutdown.connect(_stop_process, weak=False, dispatch_uid="chatsphere-stop")
    setup_logging.connect(_setup_logging, weak=False, dispatch_uid="chatsphere-logging")
    task_prerun.connect(_bind_task, weak=False, dispatch_uid="chatsphere-prerun")
    task_postrun.connect(_unbind_task, weak=False, dispatch_uid="chatsphere-postrun")
    return app


def process_runtime() -> Runtime:
    """This worker process's Runtime, built on first use (after the fork)."""
    global _process
    if _process is None:
        from app.models import load_all_models

        # A worker imports only task modules; the ORM needs every table to resolve foreign keys.
        load_all_models()
        app, settings = _app if _app is not None else (None, get_settings())
        # Jobs a task queues go out through this process's own Celery app (and its queue).
        _process = (asyncio.new_event_loop(), Runtime(settings, celery=app))
    return _process[1]


def run_in_worker(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `fn(runtime)` on this worker process's event loop."""
    runtime = process_runtime()
    assert _process is not None
    return _process[0].run_until_complete(fn(runtime))


def close_process_runtime() -> None:
    global _process
    if _process is not None:
        loop, runtime = _process
        loop.run_until_complete(runtime.aclose())
        loop.close()
        _process = None


def _start_process(**_: object) -> None:
    process_runtime()


def _stop_process(**_: object) -> None:
    close_process_runtime()


def _setup_logging(**_: object) -> None:
    # Connecting this signal stops Celery from installing its own (non-JSON) handlers.
    settings = _app[1] if _app is not None else get_settings()
    configure_logging(settings.log_level, settings.log_json)


def _bind_task(task_id: str | None = None, task: object = None, **_: object) -> None:
    structlog.contextvars.bind_contextvars(task_id=task_id, task_name=getattr(task, "name", None))


def _unbind_task(**_: object) -> None:
    structlog.contextvars.unbind_contextvars("task_id", "task_name")
