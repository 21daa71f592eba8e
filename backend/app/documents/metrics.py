"""Documents by status and the task queue's depth, refreshed each time /metrics is scraped."""

from __future__ import annotations

import anyio
from kombu.exceptions import ChannelError
from sqlalchemy import func, select

from app.bots.models import Bot
from app.core.metrics import DOCUMENTS_BY_STATUS, OWNER_QUEUE_DEPTH, QUEUE_DEPTH, on_scrape
from app.core.runtime import Runtime
from app.documents.models import Document, DocumentStatus


@on_scrape
async def refresh_documents_by_status(runtime: Runtime) -> None:
    async with runtime.read() as session:
        stmt = select(Document.status, func.count()).group_by(Document.status)
        rows = await session.execute(stmt)
        counts = dict(rows.all())
    for status in DocumentStatus:
        DOCUMENTS_BY_STATUS.labels(status.value).set(counts.get(status.value, 0))


@on_scrape
async def refresh_owner_queue_depth(runtime: Runtime) -> None:
    """Waiting work per owner: who fills the queue (owners with none are left out)."""
    async with runtime.read() as session:
        rows = await session.execute(
            select(Bot.owner_id, func.count())
            .join(Document, Document.bot_id == Bot.id)
            .where(Document.status.in_((DocumentStatus.QUEUED, DocumentStatus.PROCESSING)))
            .group_by(Bot.owner_id)
        )
        depths = {str(owner): n for owner, n in rows.all()}
    OWNER_QUEUE_DEPTH.clear()
    for owner, n in depths.items():
        OWNER_QUEUE_DEPTH.labels(owner).set(n)


@on_scrape
async def refresh_queue_depth(runtime: Runtime) -> None:
    celery_app = runtime.celery
    queue = celery_app.conf.task_default_queue

    def depth() -> int:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            # Passive declare: counts messages waiting (Redis list length, SQL rows) cheaply.
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count

    try:
        waiting = await anyio.to_thread.run_sync(depth, abandon_on_cancel=True)
    except ChannelError:  # the queue is not declared until the first task is sent
        waiting = 0
    QUEUE_DEPTH.labels(queue).set(waiting)
