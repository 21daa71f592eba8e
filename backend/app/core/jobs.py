"""The one way to enqueue background work: held on the session, sent after commit.

Services call `enqueue(session, "documents.process", document_id)`. The request's
session dependency (or `run_in_transaction` in workers) sends the jobs after the
commit. Tasks take ids, never objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.logging import get_logger

log = get_logger(__name__)
_KEY = "pending_jobs"


@dataclass(frozen=True)
class Job:
    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    countdown: float | None = None


def enqueue(
    session: AsyncSession, name: str, *args: Any, countdown: float | None = None, **kwargs: Any
) -> None:
    session.info.setdefault(_KEY, []).append(Job(name, args, kwargs, countdown))


def discard(session: AsyncSession) -> None:
    session.info.pop(_KEY, None)


async def send_pending(session: AsyncSession) -> None:
    pending: list[Job] = session.info.pop(_KEY, [])
    for job in pending:
        try:
            await anyio.to_thread.run_sync(_send, job)
        except Exception:
            # The row is committed; the periodic sweep re-queues work whose send failed.
            log.exception("job_send_failed", job=job.name)


def _send(job: Job) -> None:
    from app.core.celery_app import celery_app

    celery_app.send_task(job.name, args=job.args, kwargs=job.kwargs, countdown=job.countdown)
