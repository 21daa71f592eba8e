"""Live progress: each of a bot's documents' status changes and progress, as Server-Sent
Events (`GET /bots/{id}/documents/events`).

The stream first sends every document's current state, then each change as it happens: the
documents table is read (one small query, through `runtime.read()`, holding no connection
between reads) every POLL_SECONDS, and a document is sent again when its status, progress,
pages, chunks or error changed. Keep-alive comments fill silences; a deleted document is sent
once as `deleted`. With `until_settled`, the stream ends once nothing is queued or processing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from fastapi.sse import ServerSentEvent
from sqlalchemy import select

from app.core.runtime import Runtime
from app.documents.models import Document, DocumentStatus
from app.documents.schemas import DocumentEvent, eta_seconds

POLL_SECONDS = 1.0
_UNFINISHED = (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)


async def document_events(
    runtime: Runtime, bot_id: uuid.UUID, *, until_settled: bool = False
) -> AsyncIterator[ServerSentEvent]:
    sent: dict[uuid.UUID, tuple] = {}
    while True:
        async with runtime.read() as session:
            documents = (
                await session.scalars(
                    select(Document).where(Document.bot_id == bot_id).order_by(Document.created_at)
                )
            ).all()
        seen = set()
        for document in documents:
            seen.add(document.id)
            state = (document.status, document.progress, document.pages_done,
                     document.chunks_embedded, document.error)  # fmt: skip
            if sent.get(document.id) == state:
                continue
            sent[document.id] = state
            event = DocumentEvent(
                id=document.id, filename=document.filename, status=document.status,
                progress=document.progress, pages_done=document.pages_done,
                pages_total=document.page_count, chunks_embedded=document.chunks_embedded,
                chunk_count=document.chunk_count, eta_seconds=eta_seconds(document),
                error=document.error, updated_at=document.updated_at,
            )  # fmt: skip
            yield ServerSentEvent(event="document", data=event.model_dump(mode="json"))
        for gone in [i for i in sent if i not in seen]:
            del sent[gone]
            yield ServerSentEvent(event="deleted", data={"id": str(gone)})
        if until_settled and not any(d.status in _UNFINISHED for d in documents):
            return
        await asyncio.sleep(POLL_SECONDS)
