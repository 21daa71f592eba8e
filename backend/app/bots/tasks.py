"""Clean-up that outlives a deleted bot's rows: its vector namespace."""

from __future__ import annotations

from app.core.celery_app import celery_app
from app.core.runtime import Runtime, run_in_worker


async def purge_bot_vectors(runtime: Runtime, bot_id: str) -> None:
    await runtime.agent.vector_store.delete_namespace(bot_id)


@celery_app.task(
    name="bots.purge_vectors",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def purge_vectors(bot_id: str) -> None:
    run_in_worker(lambda runtime: purge_bot_vectors(runtime, bot_id))
