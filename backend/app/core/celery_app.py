"""The Celery app, built from settings (nothing is configured at import time).

Delivery is at least once: tasks are acknowledged after they finish, a lost worker's task is
redelivered, and tasks are idempotent (they take ids and reload rows). The API builds one to
send with (`Runtime.celery`); worker processes build theirs in `app.core.worker`.
"""

from __future__ import annotations

from pathlib import Path

from celery import Celery
from sqlalchemy import make_url

from app.core.config import Settings
from app.core.jobs import Task

TASK_MODULES = ["app.bots.tasks", "app.documents.tasks", "app.billing.tasks", "app.core.tasks"]


def build_celery(settings: Settings) -> Celery:
    broker = settings.resolved_broker_url
    if broker.startswith("sqla+"):
        from app.core import embedded_broker

        embedded_broker.register()  # polls fast only while there is work
        _create_parent_dir(broker.removeprefix("sqla+"))
    app = Celery("chatsphere", set_as_current=False)
    app.conf.update(
        broker_url=broker,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(settings),
        task_default_queue=settings.celery_queue,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_soft_time_limit + 30,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        imports=TASK_MODULES,
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep-stuck-documents": {
                "task": Task.SWEEP_STUCK_DOCUMENTS.value,
                "schedule": float(settings.sweep_interval_seconds),
            },
            "prune-stripe-events": {
                "task": Task.PRUNE_STRIPE_EVENTS.value,
                "schedule": 24 * 3600.0,
            },
            "prune-broker": {"task": Task.PRUNE_BROKER.value, "schedule": 600.0},
        },
    )
    return app


def _transport_options(settings: Settings) -> dict[str, object]:
    if settings.resolved_broker_url.startswith(("redis://", "rediss://")):
        # A lost worker's unacknowledged task goes back to the queue after this long.
        return {"visibility_timeout": settings.task_visibility_timeout}
    return {}


def _create_parent_dir(url: str) -> None:
    database = make_url(url).database
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
