"""Documents: accept uploads and pasted text, list and delete them, and look chunks up.

The request only validates, stores the file and records the row; the `documents.process`
task (sent after the commit) does the parsing and indexing, see `ingest.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import anyio
import sqlalchemy as sa
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.factory import AgentProviders
from agent.parsing import sniff
from agent.rag import BotProfile, ChunkInfo, RagAgent
from app.billing import service as billing_service
from app.bots.models import Bot
from app.bots.service import on_bot_delete
from app.core import jobs
from app.core.config import Settings
from app.core.db import utcnow
from app.core.pagination import PageParams, paginate
from app.documents import lexical, storage
from app.documents.exceptions import (
    DocumentBusy,
    DocumentNotFound,
    DuplicateDocument,
    EmptyDocument,
    FileTooLarge,
    UnsupportedFileType,
)
from app.documents.models import Document, DocumentChunk, DocumentPart, DocumentStatus, vector_id
from app.documents.schemas import SearchHit, SearchRequest, TextDocumentCreate
from app.users.models import Principal


async def get_owned(session: AsyncSession, owner: Principal, document_id: uuid.UUID) -> Document:
    document = await session.scalar(
        select(Document)
        .join(Bot, Bot.id == Document.bot_id)
        .where(Document.id == document_id, Bot.owner_id == owner.id)
    )
    # Someone else's document, or one outside an API key's bots, is like a missing one.
    if document is None or not owner.can_use_bot(document.bot_id):
        raise DocumentNotFound()
    return document


# --- Creating documents -----------------------------------------------------------------


async def create_from_upload(
    session: AsyncSession, bot: Bot, staged: storage.StagedFile, *, settings: Settings
) -> Document:
    """Validate a staged upload and record it; the file moves into the store on success."""
    if staged.size == 0:
        raise EmptyDocument("The file is empty.")
    # DOCX is a zip whose directory sits at its end, so sniffing it needs every byte.
    head = await staged.read_all() if staged.head.startswith(b"PK\x03\x04") else staged.head
    content_type = sniff(head, staged.filename)
    if content_type is None:
        raise UnsupportedFileType()
    return await _record(session, bot, staged, content_type, settings=settings)


async def create_from_text(
    session: AsyncSession, bot: Bot, data: TextDocumentCreate, *, settings: Settings
) -> Document:
    if not data.content.strip():
        raise EmptyDocument("The text is empty.")
    raw = data.content.encode("utf-8")
    if len(raw) > settings.max_upload_bytes:
        raise FileTooLarge(
            f"The text exceeds the {settings.max_upload_mb} MB limit.",
            details={"max_bytes": settings.max_upload_bytes},
        )
    # Pasted text is Markdown when it looks like it (and HTML when it is HTML), else plain.
    content_type = sniff(raw) or "text/plain"
    staged = await anyio.to_thread.run_sync(
        storage.stage_bytes, settings.upload_dir, raw, storage.display_name(data.title)
    )
    try:
        return await _record(session, bot, staged, content_type, settings=settings)
    finally:
        staged.discard()


async def _record(
    session: AsyncSession,
    bot: Bot,
    staged: storage.StagedFile,
    content_type: str,
    *,
    settings: Settings,
) -> Document:
    await _reject_duplicate(session, bot.id, staged.sha256)
    # The plan's documents, storage and per-file limits (402); locks the account until commit.
    await billing_service.check_document_upload(
        session, bot.owner_id, staged.size, settings=settings
    )
    document = Document(
        bot_id=bot.id,
        filename=staged.filename,
        content_type=content_type,
        size_bytes=staged.size,
        content_hash=staged.sha256,
        storage_key=storage.new_storage_key(content_type),
        status=DocumentStatus.QUEUED,
    )
    try:
        async with session.begin_nested():  # a concurrent twin upload loses here, as a 409
            session.add(document)
            await session.flush()
    except IntegrityError:
        await _reject_duplicate(session, bot.id, staged.sha256)
        raise
    # If the transaction fails after this, the file is orphaned; the worker never sees it.
    await anyio.to_thread.run_sync(
        storage.accept, staged, settings.upload_dir, document.storage_key
    )
    jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, str(document.id))
    return document


async def _reject_duplicate(session: AsyncSession, bot_id: uuid.UUID, content_hash: str) -> None:
    existing = await session.scalar(
        select(Document.id).where(Document.bot_id == bot_id, Document.content_hash == content_hash)
    )
    if existing is not None:
        raise DuplicateDocument(details={"document_id": str(existing)})


# --- Reading ---------------------------------------------------------------------------


async def list_for_bot(
    session: AsyncSession, bot: Bot, status: DocumentStatus | None, params: PageParams
) -> tuple[list[Document], int]:
    stmt = select(Document).where(Document.bot_id == bot.id)
    if status is not None:
        stmt = stmt.where(Document.status == status)
    return await paginate(session, stmt.order_by(Document.created_at.desc(), Document.id), params)


async def list_chunks(
    session: AsyncSession, document: Document, params: PageParams
) -> tuple[list[DocumentChunk], int]:
    stmt = (
        select(DocumentChunk)
        .where(DocumentChunk.document_id == document.id)
        .order_by(DocumentChunk.chunk_index)
    )
    return await paginate(session, stmt, params)


async def resolve_chunks(
    session: AsyncSession, bot_id: uuid.UUID, chunk_ids: Sequence[str]
) -> dict[str, ChunkInfo]:
    """Vector ids (`{document_id}:{chunk_index}`) → chunk text and source, for this bot only.

    Ids of chunks that are gone (document deleted or re-chunked) are left out.
    """
    keys = [key for key in map(_parse_vector_id, chunk_ids) if key is not None]
    if not keys:
        return {}
    rows = await session.execute(
        _CHUNKS_BY_KEY,
        {
            "bot_id": bot_id,
            "document_ids": list({document_id for document_id, _ in keys}),
            "indexes": list({index for _, index in keys}),
        },
    )
    found: dict[str, ChunkInfo] = {}
    for chunk_id, document_id, chunk_index, text, page, filename in rows:
        key = vector_id(document_id, chunk_index)
        found[key] = ChunkInfo(
            chunk_id=str(chunk_id),  # the id /documents/{id}/chunks lists, not the vector id
            document_id=str(document_id),
            document_name=filename,
            chunk_index=chunk_index,
            text=text,
            page=page,
        )
    return {key: found[key] for key in chunk_ids if key in found}


# Built once: every chat turn resolves its sources (see `app.core.db.per_dialect`).
_CHUNKS_BY_KEY = (
    select(
        DocumentChunk.id,
        DocumentChunk.document_id,
        DocumentChunk.chunk_index,
        DocumentChunk.text,
        DocumentChunk.page,
        Document.filename,
    )
    .join(Document, Document.id == DocumentChunk.document_id)
    .where(
        # The bot is checked on the document: a condition on document_chunks.bot_id leads
        # SQLite (no statistics) to read every chunk of the bot through its index instead of
        # looking the few keys up in the (document_id, chunk_index) unique index.
        Document.bot_id == bindparam("bot_id"),
        DocumentChunk.document_id.in_(bindparam("document_ids", expanding=True)),
        DocumentChunk.chunk_index.in_(bindparam("indexes", expanding=True)),
    )
)


def _parse_vector_id(value: str) -> tuple[uuid.UUID, int] | None:
    document_id, _, index = value.rpartition(":")
    try:
        return uuid.UUID(document_id), int(index)
    except ValueError:
        return None


async def search(
    session: AsyncSession, bot: Bot, data: SearchRequest, *, agent: AgentProviders
) -> list[SearchHit]:
    """Retrieval testing: the same retrieval chat uses (the bot's mode), without the
    relevance floor, with each hit's lexical rank, dense score and fused score."""
    if bot.embedding_model is None:
        return []  # nothing indexed yet
    rag = RagAgent(agent.embedder, agent.vector_store, agent.llm)
    profile = BotProfile(
        namespace=str(bot.id),
        embedding_model=bot.embedding_model,
        retrieval_mode=bot.retrieval_mode,  # type: ignore[arg-type]  # checked by BotFields
    )
    sources = await rag.retrieve(
        profile,
        data.query,
        top_k=data.top_k,
        min_score=-1.0,
        resolve=lambda ids: resolve_chunks(session, bot.id, ids),
        lexical=lambda query, limit: lexical.search(session, bot.id, query, limit),
    )
    return [
        SearchHit(
            chunk_id=s.chunk_id,
            document_id=uuid.UUID(s.document_id),
            document_name=s.document_name,
            chunk_index=s.chunk_index,
            page=s.page,
            score=round(s.score, 6),
            text=s.text,
            lexical_rank=s.lexical_rank,
            dense_score=None if s.dense_score is None else round(s.dense_score, 6),
            fused_score=None if s.fused_score is None else round(s.fused_score, 6),
            proximity_rank=s.proximity_rank,
        )
        for s in sources
    ]


# --- Changing ---------------------------------------------------------------------------


async def reindex(session: AsyncSession, document: Document, *, settings: Settings) -> Document:
    """Queue the document again, e.g. after the embedding provider changed."""
    stale_before = utcnow() - timedelta(seconds=settings.stuck_after_seconds)
    if document.status == DocumentStatus.PROCESSING and document.status_changed_at > stale_before:
        raise DocumentBusy()
    document.status = DocumentStatus.QUEUED
    document.progress, document.error, document.attempts = 0, None, 0
    document.status_changed_at, document.finished_at = utcnow(), None
    document.held_until = None
    # Page ranges of a run that died are parsed again from the start.
    await session.execute(sa.delete(DocumentPart).where(DocumentPart.document_id == document.id))
    await session.flush()
    jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, str(document.id))
    return document


async def delete(session: AsyncSession, document: Document) -> None:
    """Rows go now; vectors and the stored file go after the commit (a job)."""
    count = await vector_count(session, document)
    await session.delete(document)
    await session.flush()
    jobs.enqueue(
        session,
        jobs.Task.PURGE_DOCUMENT,
        str(document.bot_id),
        str(document.id),
        count,
        document.storage_key,
    )


async def vector_count(session: AsyncSession, document: Document) -> int:
    """Vectors that may exist for a document: its chunk count, or more after a cut-short run.

    Chunk rows are written before any vector, so the highest chunk index bounds the ids.
    """
    last = await session.scalar(
        select(func.max(DocumentChunk.chunk_index)).where(DocumentChunk.document_id == document.id)
    )
    return max(document.chunk_count, 0 if last is None else last + 1)


@on_bot_delete
async def _purge_files_of_bot(session: AsyncSession, bot: Bot) -> None:
    # The bot's namespace goes with `bots.purge_vectors`; only the stored files remain.
    stmt = select(Document.storage_key).where(Document.bot_id == bot.id)
    keys = (await session.scalars(stmt)).all()
    for key in keys:
        jobs.enqueue(session, jobs.Task.PURGE_DOCUMENT, str(bot.id), None, 0, key)
