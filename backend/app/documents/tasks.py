"""Document ingestion tasks. They take ids; the work lives in `ingest.py`.

Delivery is at least once (acks late, requeued when a worker is lost) and every task here
is idempotent. Provider hiccups retry with exponential backoff and full jitter; when the
retries run out, or the error is permanent, the document fails with a readable reason.
"""

from __future__ import annotations

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy.exc import DBAPIError

from agent.errors import TransientError
from app.core.db import utcnow
from app.core.jobs import Task as TaskName
from app.core.logging import get_logger
from app.core.worker import process_runtime, run_in_worker
from app.documents import ingest

log = get_logger(__name__)
RETRY_BACKOFF_MAX = 600


@shared_task(name=TaskName.PROCESS_DOCUMENT.value, bind=True, max_retries=None)
def process(self: Task, document_id: str, second_look: bool = False) -> None:
    """Run the next document in fair order (see `ingest.claim_next`): `document_id` is the
    one this message was sent for, which another wake-up may already have run."""
    claimed = run_in_worker(ingest.claim_next)
    if isinstance(claimed, ingest.NothingToClaim):
        _look_again_later(self, document_id, claimed, second_look)
        return
    job: ingest.Job | None = claimed
    try:
        while job is not None:  # a page range's run may hand over the document's assembly
            current = job
            job = run_in_worker(lambda runtime, j=current: ingest.run_claimed(runtime, j))
    except TransientError as exc:
        _retry_or_fail(self, current, exc.message, exc.retry_after)
    except (DBAPIError, ConnectionError, TimeoutError) as exc:
        log.warning("document_infrastructure_error", document_id=str(current.id), error=repr(exc))
        _retry_or_fail(self, current, "the database or a provider was unreachable")
    except SoftTimeLimitExceeded:
        limit = process_runtime().settings.task_soft_time_limit
        _fail(str(current.id), f"processing took longer than {limit} seconds; split the document")
    except Exception:
        # A bug must not leave the document spinning; the traceback goes to the log.
        log.exception("document_processing_crashed", document_id=str(current.id))
        _fail(str(current.id), "processing failed because of an internal error; try reindexing")


def _look_again_later(
    task: Task, document_id: str, nothing: ingest.NothingToClaim, second_look: bool
) -> None:
    """Nothing to claim: every document is done, or held by a run. A redelivery after its
    worker died finds its document held by the dead run's lease: it looks once more when
    that lease would run out (a live run will have renewed it), so the takeover need not
    wait for the sweep. A second look that finds nothing again ends there."""
    log.info("document_claimed_elsewhere", document_id=document_id, second_look=second_look)
    if second_look or nothing.next_hold_end is None:
        return
    wait = (nothing.next_hold_end - utcnow()).total_seconds() + 1
    raise task.retry(
        args=(document_id,), kwargs={"second_look": True}, countdown=max(wait, 1)
    ) from None


def _retry_or_fail(
    task: Task, job: ingest.Job, reason: str, retry_after: float | None = None
) -> None:
    """Retry with exponential backoff and full jitter: the document is held for the backoff,
    and this message comes back then to claim the next one (it, or a fairer one)."""
    settings = process_runtime().settings
    document_id, attempts = str(job.id), job.run_attempt
    if attempts > settings.ingest_max_retries:
        _fail(document_id, f"{reason} (gave up after {attempts} attempts)")
        return
    countdown = get_exponential_backoff_interval(
        settings.ingest_retry_backoff_seconds, attempts - 1, RETRY_BACKOFF_MAX, full_jitter=True
    )
    countdown = max(countdown, min(retry_after or 0, RETRY_BACKOFF_MAX))
    log.info("document_retry", document_id=document_id, reason=reason, countdown=countdown)
    run_in_worker(lambda runtime: ingest.hold(runtime, job, countdown))
    raise task.retry(countdown=countdown)


def _fail(document_id: str, reason: str) -> None:
    run_in_worker(lambda runtime: ingest.fail(runtime, document_id, reason))


@shared_task(
    name=TaskName.PURGE_DOCUMENT.value,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def purge(bot_id: str, document_id: str | None, vector_count: int, storage_key: str | None) -> None:
    run_in_worker(
        lambda runtime: ingest.purge(runtime, bot_id, document_id, vector_count, storage_key)
    )


@shared_task(name=TaskName.SWEEP_STUCK_DOCUMENTS.value)
def sweep_stuck() -> int:
    return run_in_worker(ingest.requeue_stuck)
