"""Housekeeping of the platform itself (not of a domain)."""

from __future__ import annotations

from celery import shared_task

from app.core import embedded_broker
from app.core.jobs import Task
from app.core.worker import process_runtime


@shared_task(name=Task.PRUNE_BROKER.value)
def prune_broker() -> int:
    """Delete the embedded broker's delivered messages; other brokers remove their own."""
    url = process_runtime().settings.resolved_broker_url
    if not url.startswith("sqla+"):
        return 0
    return embedded_broker.prune_delivered(url)
