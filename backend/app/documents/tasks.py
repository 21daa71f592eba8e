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
from app.core.jobs import Task as TaskName
from app.core.logging import get_logger
from app.core.worker import process_runtime, run_in_worker
from app.documents import ingest

log = get_logger(__name__)
RETRY_BACKOFF_MAX = 600


@shared_task(name=TaskName.PROCESS_DOCUMENT.value, bind=True, max_retries=None)
def process(self: Task, document_id: str, second_look: bool = False) -> None:
    try:
        run_in_worker(lambda runtime: ingest.process_document(runtime, document_id))
    except ingest.ClaimedElsewhere as exc:
        # A duplicate delivery, or a redelivery after its worker died. Look once more when
        # the lease would have run out: a live run will have renewed it (then this copy is
        # dropped), a dead one not (then this copy takes over, without waiting for a sweep).
        log.info("document_claimed_elsewhere", document_id=document_id, second_look=second_look)
        if second_look:
            return
        raise self.retry(
            countdown=exc.seconds_left + 1,
            args=(document_id,),
            kwargs={"second_look": True},
        ) from None
    except TransientError as exc:
        _retry_or_fail(self, document_id, exc.message, exc.retry_after)
    except (DBAPIError, ConnectionError, TimeoutError) as exc:
        log.warning("document_infrastructure_error", document_id=document_id, error=repr(exc))
        _retry_or_fail(self, document_id, "the database or a provider was unreachable")
    except SoftTimeLimitExceeded:
        limit = process_runtime().settings.task_soft_time_limit
        _fail(document_id, f"processing took longer than {limit} seconds; split the document")
    except Exception:
        # A bug must not leave the document spinning; the traceback goes to the log.
        log.exception("document_processing_crashed", document_id=document_id)
        _fail(document_id, "processing failed because of an internal error; try reindexing")


def _retry_or_fail(
    task: Task, document_id: str, reason: str, retry_after: float | None = None
) -> None:
    settings = process_runtime().settings
    retries = task.request.retries
    if retries >= settings.ingest_max_retries:
        _fail(document_id, f"{reason} (gave up after {retries + 1} attempts)")
        return
    countdown = get_exponential_backoff_interval(
        settings.ingest_retry_backoff_seconds, retries, RETRY_BACKOFF_MAX, full_jitter=True
    )
    countdown = max(countdown, min(retry_after or 0, RETRY_BACKOFF_MAX))
    log.info("document_retry", document_id=document_id, reason=reason, countdown=countdown)
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
