"""The Celery app. Workers start with `celery -A app.core.celery_app worker`.

Delivery is at least once: tasks are acknowledged after they finish, a lost worker's
task is redelivered, and tasks are idempotent (they take ids and reload rows).
"""

from __future__ import annotations

import structlog
from celery import Celery
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
)

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging

TASK_MODULES = ["app.bots.tasks", "app.documents.tasks", "app.billing.tasks"]

celery_app = Celery("chatsphere")


def configure_celery(settings: Settings) -> Celery:
    celery_app.conf.update(
        broker_url=settings.resolved_broker_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(settings),
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
                "task": "documents.sweep_stuck",
                "schedule": float(settings.sweep_interval_seconds),
            },
            "prune-stripe-events": {"task": "billing.prune_events", "schedule": 24 * 3600.0},
        },
    )
    return celery_app


def _transport_options(settings: Settings) -> dict[str, object]:
    if settings.resolved_broker_url.startswith(("redis://", "rediss://")):
        # A lost worker's unacknowledged task goes back to the queue after this long.
        return {"visibility_timeout": settings.task_visibility_timeout}
    if settings.resolved_broker_url.startswith("sqla+"):
        from app.core import embedded_broker

        embedded_broker.register()  # polls fast only while there is work
    return {}


configure_celery(get_settings())


@worker_process_init.connect
def _init_worker_process(**_: object) -> None:
    from app.core.runtime import worker_runtime

    worker_runtime()


@worker_process_shutdown.connect
def _shutdown_worker_process(**_: object) -> None:
    from app.core.runtime import close_worker_runtime

    close_worker_runtime()


@setup_logging.connect
def _setup_logging(**_: object) -> None:
    # Connecting this signal stops Celery from installing its own (non-JSON) handlers.
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: object = None, **_: object) -> None:
    structlog.contextvars.bind_contextvars(task_id=task_id, task_name=getattr(task, "name", None))


@task_postrun.connect
def _unbind_task_context(**_: object) -> None:
    structlog.contextvars.unbind_contextvars("task_id", "task_name")
