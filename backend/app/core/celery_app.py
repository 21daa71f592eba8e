"""The Celery app. Workers start with `celery -A app.core.celery_app worker`.

Delivery is at least once: tasks are acknowledged after they finish, a lost worker's
task is redelivered, and tasks are idempotent (they take ids and reload rows).
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from app.core.config import Settings, get_settings

TASK_MODULES = ["app.bots.tasks", "app.documents.tasks", "app.billing.tasks"]

celery_app = Celery("chatsphere")


def configure_celery(settings: Settings) -> Celery:
    celery_app.conf.update(
        broker_url=settings.resolved_broker_url,
        broker_connection_retry_on_startup=True,
        # A lost worker's task goes back to the queue after this long (Redis transport).
        broker_transport_options={"visibility_timeout": settings.task_visibility_timeout},
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
        },
    )
    return celery_app


configure_celery(get_settings())


@worker_process_init.connect
def _init_worker_process(**_: object) -> None:
    from app.core.runtime import worker_runtime

    worker_runtime()


@worker_process_shutdown.connect
def _shutdown_worker_process(**_: object) -> None:
    from app.core.runtime import close_worker_runtime

    close_worker_runtime()
