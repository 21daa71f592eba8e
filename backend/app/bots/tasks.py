"""Clean-up that outlives a deleted bot's rows: its vector namespace."""

from __future__ import annotations

from celery import shared_task

from app.core.jobs import Task
from app.core.runtime import Runtime
from app.core.worker import run_in_worker


async def purge_bot_vectors(runtime: Runtime, bot_id: str) -> None:
    await runtime.agent.vector_store.delete_namespace(bot_id)


@shared_task(
    name=Task.PURGE_BOT_VECTORS.value,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def purge_vectors(bot_id: str) -> None:
    run_in_worker(lambda runtime: purge_bot_vectors(runtime, bot_id))
