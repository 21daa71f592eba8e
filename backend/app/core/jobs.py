"""The one way to enqueue background work: held on the session, sent after its commit.

Services call `jobs.enqueue(session, Task.PROCESS_DOCUMENT, document_id)`;
`Runtime.transaction()` sends what was queued once the commit succeeded, and drops it on a
rollback, so a worker never sees an id whose row is not there. Tasks take ids, never objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "pending_jobs"


class Task(StrEnum):
    """Every task name, in one place: tasks register under these and jobs are sent by them."""

    PROCESS_DOCUMENT = "documents.process"
    PURGE_DOCUMENT = "documents.purge"
    SWEEP_STUCK_DOCUMENTS = "documents.sweep_stuck"
    PURGE_BOT_VECTORS = "bots.purge_vectors"
    PRUNE_STRIPE_EVENTS = "billing.prune_events"
    PRUNE_BROKER = "core.prune_broker"


@dataclass(frozen=True)
class Job:
    name: Task
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    countdown: float | None = None


def enqueue(
    session: AsyncSession, name: Task, *args: Any, countdown: float | None = None, **kwargs: Any
) -> None:
    session.info.setdefault(_KEY, []).append(Job(name, args, kwargs, countdown))


def take(session: AsyncSession) -> list[Job]:
    """The jobs queued on `session`, removed from it."""
    return session.info.pop(_KEY, [])
