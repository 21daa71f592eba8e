"""Billing background work.

Webhooks do not need a task: their effect is a few row writes in the request's
transaction, so Stripe gets its answer at once. What remains is housekeeping.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from sqlalchemy import delete

from app.billing.models import StripeEvent
from app.core.db import utcnow
from app.core.jobs import Task
from app.core.runtime import Runtime
from app.core.worker import run_in_worker

# Stripe retries a delivery for up to 3 days; remembering ids far longer keeps replays no-ops.
EVENT_RETENTION = timedelta(days=90)


async def prune_stripe_events(runtime: Runtime) -> int:
    """Forget processed event ids older than the retention; returns how many went."""
    async with runtime.transaction() as session:
        result = await session.execute(
            delete(StripeEvent).where(StripeEvent.received_at < utcnow() - EVENT_RETENTION)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@shared_task(name=Task.PRUNE_STRIPE_EVENTS.value)
def prune_events() -> int:
    return run_in_worker(prune_stripe_events)
