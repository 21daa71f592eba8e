"""The ingestion pipeline the `documents.process` task runs: parse, chunk, embed, index.

Safe to run more than once for the same document (at-least-once delivery):
- vector ids are `{document_id}:{chunk_index}`, so a re-run overwrites, never duplicates;
- chunk rows are replaced as a whole, and vectors past the new chunk count are deleted;
- a message is a wake-up: the worker claims the next document in fair order across owners
  (`claim_next`), holding it with a lease (`held_until`) that a heartbeat renews while it
  works; no other delivery can claim it while the lease is live, and any can once it has
  run out (the worker died);
- every state change is a short transaction that checks the row is still there and still
  this run's (`attempts` numbers the runs), so a deleted document, a newer reindex request
  or a run that took over is never overwritten.
Parsing runs in a child process under its own memory and time limits (agent.parsing).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
from sqlalchemy import and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.errors import AgentError, ParseError, PermanentError
from agent.parsing import parse_isolated
from agent.types import Chunk, EmbeddingTask, Page, VectorRecord
from app.bots.models import Bot
from app.core import jobs
from app.core.db import per_dialect, utcnow
from app.core.logging import get_logger
from app.core.runtime import Runtime
from app.documents import storage
from app.documents.models import (
    Document,
    DocumentChunk,
    DocumentPart,
    DocumentStatus,
    IngestTurn,
    PartStatus,
    vector_id,
)
from app.documents.service import vector_count

log = get_logger(__name__)

# Chunks embedded and upserted per step: one provider call, one progress update.
EMBED_BATCH = 96
# Runs beyond the planned retries that one document may take (worker crashes, lost tasks)
# before it fails instead of taking a worker down forever.
EXTRA_ATTEMPTS = 3
_IDS_PER_DELETE = 1000
_UNFINISHED = (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)


@dataclass(frozen=True, slots=True)
class PartJob:
    """A page range of a long PDF, claimed on its own."""

    id: uuid.UUID
    first_page: int
    last_page: int
    # The part's `attempts` once this run claimed it: the run's identity.
    attempt: int


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID
    bot_id: uuid.UUID
    content_type: str
    storage_key: str
    # Vectors a previous run may have left: ids below this may exist in the namespace.
    previous_count: int
    # The document's `attempts` once this run claimed it: the run's identity.
    attempt: int
    # Set when the run parses one page range of the document, not the document.
    part: PartJob | None = None

    @property
    def run_attempt(self) -> int:
        """The attempts of what this run claimed: the part's, or the document's."""
        return self.part.attempt if self.part else self.attempt


class DocumentGone(Exception):
    """The document was deleted, re-queued or taken over while this run worked on it."""


@dataclass(frozen=True, slots=True)
class NothingToClaim:
    """No document can be claimed now; `next_hold_end` is the earliest moment a held
    `processing` document's lease runs out (None when none is held)."""

    next_hold_end: datetime | None


async def claim_next(runtime: Runtime) -> Job | NothingToClaim:
    """Claim the next document in fair order, for one run of the pipeline.

    A message names the document it was sent for, but it is a wake-up: the worker that takes
    it claims the claimable document whose owner was served longest ago (never, first), and
    that owner's oldest. One message is sent per queued document, so every document gets a
    run; an owner with a long backlog takes turns with the others instead of going first.
    Claimable: unfinished and not held (no live run's lease, no retry backoff running).
    """
    limit = runtime.settings.ingest_max_retries + 1 + EXTRA_ATTEMPTS
    now = utcnow()
    async with runtime.transaction() as session:
        # FOR UPDATE: on PostgreSQL, concurrent workers skip each other's pick; on SQLite it
        # takes the write lock first, so picks are serialised.
        whole = (await session.execute(_next_fair(now))).first()
        part_pick = (await session.execute(_next_fair_part(now))).first()
        if whole is None and part_pick is None:
            return NothingToClaim(await _next_hold_end(session, now))
        if part_pick is not None and (whole is None or _turn(part_pick) <= _turn(whole)):
            part, document, owner_id, _ = part_pick  # a started document's range: first
            attempts = part.attempts
        else:
            part, (document, owner_id, _) = None, whole
            attempts = document.attempts
        if attempts >= limit:
            exhausted = str(document.id)
        else:
            exhausted = None
            await session.execute(_serve_owner(session), {"owner_id": owner_id, "now": now})
            lease = _lease_end(runtime)
            if part is None:
                job = await _claim_for_run(session, document, lease)
            else:
                job = await _claim_part(session, document, part, lease)
    if exhausted is not None:
        await fail(runtime, exhausted, f"processing did not complete after {limit} attempts")
        return NothingToClaim(None)
    return job


def _claimable(now: datetime):
    return and_(
        Document.status.in_(_UNFINISHED),
        or_(Document.held_until.is_(None), Document.held_until <= now),
    )


def _turn(picked: Any) -> datetime:
    """When the pick's owner was last served (never: the earliest of all)."""
    served = picked[-1]
    return _aware(served) if served is not None else datetime.min.replace(tzinfo=UTC)


def _unfinished_parts():
    return (
        select(DocumentPart.id)
        .where(DocumentPart.document_id == Document.id, DocumentPart.status != PartStatus.DONE)
        .exists()
    )


def _next_fair(now: datetime):
    return (
        select(Document, Bot.owner_id, IngestTurn.served_at)
        .join(Bot, Bot.id == Document.bot_id)
        .outerjoin(IngestTurn, IngestTurn.owner_id == Bot.owner_id)
        # A document split in page ranges is claimed range by range (`_next_fair_part`),
        # and whole again only to be assembled once every range is parsed.
        .where(_claimable(now), ~_unfinished_parts())
        .order_by(
            IngestTurn.served_at.asc().nulls_first(),
            # A taken-over run first, then the owner's documents in the order they queued.
            case((Document.status == DocumentStatus.PROCESSING, 0), else_=1),
            Document.status_changed_at,
            Document.id,
        )
        .limit(1)
        .with_for_update(of=Document, skip_locked=True)
    )


def _next_fair_part(now: datetime):
    return (
        select(DocumentPart, Document, Bot.owner_id, IngestTurn.served_at)
        .join(Document, Document.id == DocumentPart.document_id)
        .join(Bot, Bot.id == Document.bot_id)
        .outerjoin(IngestTurn, IngestTurn.owner_id == Bot.owner_id)
        .where(
            Document.status == DocumentStatus.PROCESSING,
            DocumentPart.status != PartStatus.DONE,
            or_(DocumentPart.held_until.is_(None), DocumentPart.held_until <= now),
        )
        .order_by(
            IngestTurn.served_at.asc().nulls_first(),
            Document.status_changed_at,
            Document.id,
            DocumentPart.index,
        )
        .limit(1)
        .with_for_update(of=DocumentPart, skip_locked=True)
    )


async def _next_hold_end(session: AsyncSession, now: datetime) -> datetime | None:
    moments = [
        await session.scalar(
            select(func.min(table.held_until)).where(
                table.status == DocumentStatus.PROCESSING, table.held_until > now
            )
        )
        for table in (Document, DocumentPart)
    ]
    held = [_aware(m) for m in moments if m is not None]
    return min(held) if held else None


@per_dialect
def _serve_owner(insert: Callable[[Any], Any]) -> Any:
    table = IngestTurn.__table__
    stmt = insert(table).values(owner_id=bindparam("owner_id"), served_at=bindparam("now"))
    return stmt.on_conflict_do_update(
        index_elements=[table.c.owner_id], set_={"served_at": stmt.excluded.served_at}
    )


async def run_claimed(runtime: Runtime, job: Job) -> Job | None:
    """Run the pipeline on what was claimed, renewing its lease meanwhile. Permanent errors
    fail the document here; transient ones propagate for the task to retry (it calls `hold`
    with the backoff). Returns the document's assembly when this run parsed its last page
    range: the caller runs that next, as a claimed document of its own."""
    heartbeat = asyncio.create_task(_keep_lease(runtime, job))
    try:
        if job.part is not None:
            return await _run_part(runtime, job)
        await _run(runtime, job)
    except PermanentError as exc:  # parse errors included: the same input fails the same way
        await fail(runtime, str(job.id), exc.message)
    finally:
        heartbeat.cancel()
        with suppress(asyncio.CancelledError):
            await heartbeat
    return None


async def process_queued(runtime: Runtime) -> list[str]:
    """Run every claimable document (and page range) in this process, in fair order, without
    a broker (for tools and tests); returns the documents' ids in the order they ran."""
    ran = []
    while not isinstance(job := await claim_next(runtime), NothingToClaim):
        next_job: Job | None = job
        while next_job is not None:
            current, next_job = next_job, await run_claimed(runtime, next_job)
            if current.part is None:
                ran.append(str(current.id))
    return ran


async def _keep_lease(runtime: Runtime, job: Job) -> None:
    """Renew the lease every third of its length until the run ends or loses the document."""
    seconds = runtime.settings.ingest_lease_seconds
    while True:
        await asyncio.sleep(seconds / 3)
        try:
            async with runtime.transaction() as session:
                await _claim(session, job, held_until=_lease_end(runtime))  # a part's if a part
        except DocumentGone:
            return  # the run's next step notices and stops
        except Exception as exc:  # noqa: BLE001 - a missed renewal is retried; the run goes on
            log.warning("lease_renewal_failed", document_id=str(job.id), error=repr(exc))


def _lease_end(runtime: Runtime) -> datetime:
    return utcnow() + timedelta(seconds=runtime.settings.ingest_lease_seconds)


async def hold(runtime: Runtime, job: Job, seconds: float) -> None:
    """Keep the document for a retry after `seconds` of backoff: it stays `processing` (as
    SPEC's lifecycle has it), held until then, and any wake-up may claim it afterwards."""
    try:
        async with runtime.transaction() as session:
            await _claim(session, job, held_until=utcnow() + timedelta(seconds=seconds))
    except DocumentGone:
        pass


async def _read_file(runtime: Runtime, job: Job) -> bytes:
    path = storage.stored_path(runtime.settings.upload_dir, job.storage_key)
    try:
        return await anyio.Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ParseError("the stored file is missing; upload the document again") from exc


async def _run(runtime: Runtime, job: Job) -> None:
    settings, timings = runtime.settings, _Timings(_embedded(runtime))
    pages = await _parsed_parts(runtime, job)  # a split document whose ranges are all parsed
    if pages is None:
        data = await _read_file(runtime, job)
        with timings("parse"):
            # In a thread, so the lease's heartbeat goes on while the child process parses.
            outcome = await anyio.to_thread.run_sync(
                partial(
                    parse_isolated, data, job.content_type, settings.agent,
                    split_above=settings.agent.pdf_range_pages,
                )
            )  # fmt: skip
        parsed = outcome.result()
        timings.parse_peak_rss = outcome.peak_rss_bytes
        del data  # a large PDF's bytes are not needed past parsing
        if parsed.unparsed_page_count is not None:
            await _split(runtime, job, parsed.unparsed_page_count)
            return
        pages = parsed.pages
    with timings("chunk"):
        chunks = runtime.agent.chunker.split(pages)
    if not chunks:
        raise ParseError("file has no extractable text (scanned images need OCR)")
    try:
        await _save_chunks(runtime, job, chunks, len(pages))
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            await _index(runtime, job, batch, timings)
            if start + len(batch) < len(chunks):  # the last step's 100% comes with `ready`
                await _set_progress(
                    runtime, job, 15 + 80 * (start + len(batch)) // len(chunks), start + len(batch)
                )
        await delete_vectors(runtime, job.bot_id, job.id, range(len(chunks), job.previous_count))
        await _finish(runtime, job, len(chunks), timings)
    except DocumentGone:
        log.info("document_gone_midway", document_id=str(job.id))
        await _discard_if_deleted(runtime, job, len(chunks))


def _embedded(runtime: Runtime) -> int:
    return getattr(runtime.agent.embedder, "embedded", 0)


async def _split(runtime: Runtime, job: Job, page_count: int) -> None:
    """Cut a long PDF into page ranges that any free worker may claim (one wake-up each);
    the document keeps no lease of its own meanwhile."""
    size = runtime.settings.agent.pdf_range_pages
    async with runtime.transaction() as session:
        await _claim(session, job, held_until=None, page_count=page_count, pages_done=0)
        await session.execute(delete(DocumentPart).where(DocumentPart.document_id == job.id))
        for index, first in enumerate(range(1, page_count + 1, size)):
            session.add(
                DocumentPart(
                    document_id=job.id,
                    index=index,
                    first_page=first,
                    last_page=min(first + size - 1, page_count),
                )
            )
            jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, str(job.id))
    log.info("document_split", document_id=str(job.id), pages=page_count, range_pages=size)


async def _run_part(runtime: Runtime, job: Job) -> Job | None:
    """Parse one page range; the run that parses the last one claims the document to chunk
    and embed it whole (returned), so the result is the same as an unsplit run's."""
    assert job.part is not None
    settings = runtime.settings
    data = await _read_file(runtime, job)
    outcome = await anyio.to_thread.run_sync(
        partial(
            parse_isolated, data, job.content_type, settings.agent,
            pages=(job.part.first_page, job.part.last_page),
        )
    )  # fmt: skip
    del data
    parsed = outcome.result()
    try:
        async with runtime.transaction() as session:
            # The document first, then the range: every transaction locks them in that order.
            document = await session.get(Document, job.id, with_for_update=True)
            if document is None or document.status != DocumentStatus.PROCESSING:
                raise DocumentGone()
            await _claim(
                session, job, status=PartStatus.DONE, held_until=None,
                pages=[[page.number, page.text] for page in parsed.pages],
            )  # fmt: skip
            document.pages_done += job.part.last_page - job.part.first_page + 1
            total = max(document.page_count or 0, 1)
            document.progress = 5 + 10 * min(document.pages_done, total) // total
            left = await session.scalar(
                select(func.count())
                .select_from(DocumentPart)
                .where(DocumentPart.document_id == job.id, DocumentPart.status != PartStatus.DONE)
            )
            log.info(
                "document_range_parsed", document_id=str(job.id),
                first_page=job.part.first_page, last_page=job.part.last_page, left=left,
            )  # fmt: skip
            if left:
                return None
            # The last range: this run assembles the document, under a lease of its own.
            return await _claim_for_run(session, document, _lease_end(runtime), fresh=False)
    except DocumentGone:
        log.info("document_gone_midway", document_id=str(job.id), part=job.part.first_page)
        return None


async def _parsed_parts(runtime: Runtime, job: Job) -> list[Page] | None:
    """A split document's pages, in order, when every range is parsed; else None."""
    async with runtime.read() as session:
        parts = (
            await session.scalars(
                select(DocumentPart)
                .where(DocumentPart.document_id == job.id)
                .order_by(DocumentPart.index)
            )
        ).all()
    if not parts or any(p.status != PartStatus.DONE for p in parts):
        return None
    return [Page(number, text) for part in parts for number, text in part.pages or []]


class _Timings(dict[str, float]):
    """Seconds per phase, logged when a document is ready."""

    def __init__(self, embedded_before: int) -> None:
        super().__init__()
        self._start = time.perf_counter()
        self.embedded_before = embedded_before
        # The parse child's peak resident memory (pages shared with the worker included).
        self.parse_peak_rss: int | None = None

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[phase] = self.get(phase, 0.0) + time.perf_counter() - start

    def summary(self) -> dict[str, float]:
        phases = {**self, "total": time.perf_counter() - self._start}
        return {f"{phase}_s": round(seconds, 3) for phase, seconds in phases.items()}


async def _index(runtime: Runtime, job: Job, batch: Sequence[Chunk], timings: _Timings) -> None:
    with timings("embed"):
        values = await runtime.agent.embedder.embed([c.text for c in batch], EmbeddingTask.DOCUMENT)
    records = [
        VectorRecord(
            id=vector_id(job.id, chunk.index),
            values=vector,
            metadata={
                "document_id": str(job.id),
                "chunk_index": chunk.index,
                "bot_id": str(job.bot_id),
            },
        )
        for chunk, vector in zip(batch, values, strict=True)
    ]
    with timings("upsert"):
        await runtime.agent.vector_store.upsert(str(job.bot_id), records)


# --- State changes: each one short `runtime.transaction()` -------------------------------


async def _claim_for_run(
    session: AsyncSession, document: Document, lease_end: datetime, *, fresh: bool = True
) -> Job:
    """Claim the whole document; `fresh=False` keeps the parsing progress (an assembly)."""
    previous_count = await vector_count(session, document)
    now = utcnow()
    document.status, document.error = DocumentStatus.PROCESSING, None
    if fresh:
        document.progress, document.pages_done = 5, 0
    document.chunks_embedded = 0
    document.attempts += 1
    document.started_at = document.status_changed_at = now
    document.held_until = lease_end
    await session.flush()
    return _job(document, previous_count)


async def _claim_part(
    session: AsyncSession, document: Document, part: DocumentPart, lease_end: datetime
) -> Job:
    part.status, part.held_until = PartStatus.PROCESSING, lease_end
    part.attempts += 1
    await session.flush()
    return _job(document, 0, PartJob(part.id, part.first_page, part.last_page, part.attempts))


def _job(document: Document, previous_count: int, part: PartJob | None = None) -> Job:
    return Job(
        document.id,
        document.bot_id,
        document.content_type,
        document.storage_key,
        previous_count,
        document.attempts,
        part,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _save_chunks(runtime: Runtime, job: Job, chunks: list[Chunk], page_count: int) -> None:
    async with runtime.transaction() as session:
        await _claim(
            session, job, progress=15, page_count=page_count, pages_done=page_count,
            chunk_count=len(chunks), chunks_embedded=0,
        )  # fmt: skip
        await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == job.id))
        rows = [
            {
                "id": uuid.uuid4(),
                "document_id": job.id,
                "bot_id": job.bot_id,
                "chunk_index": c.index,
                "page": c.page,
                "text": c.text,
                "token_count": c.token_count,
                "heading": c.heading[:300] if c.heading else None,
            }
            for c in chunks
        ]
        for start in range(0, len(rows), 1000):
            await session.execute(DocumentChunk.__table__.insert(), rows[start : start + 1000])


async def _set_progress(runtime: Runtime, job: Job, progress: int, embedded: int) -> None:
    async with runtime.transaction() as session:
        await _claim(session, job, progress=min(progress, 99), chunks_embedded=embedded)


async def _claim(session: AsyncSession, job: Job, **values: object) -> None:
    """Update what this run claimed only while it still owns it: the document (`processing`,
    its attempt), or its page range (`processing`, the range's attempt)."""
    if job.part is not None:
        statement = (
            update(DocumentPart)
            .where(
                DocumentPart.id == job.part.id,
                DocumentPart.status == PartStatus.PROCESSING,
                DocumentPart.attempts == job.part.attempt,
            )
            .values(**values)
        )
    else:
        statement = (
            update(Document)
            .where(
                Document.id == job.id,
                Document.status == DocumentStatus.PROCESSING,
                Document.attempts == job.attempt,
            )
            .values(**values, updated_at=utcnow())
        )
    result = await session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount == 0:
        raise DocumentGone()


async def _finish(runtime: Runtime, job: Job, chunk_count: int, timings: _Timings) -> None:
    model = runtime.agent.embedder.model
    async with runtime.transaction() as session:
        now = utcnow()
        await _claim(
            session,
            job,
            status=DocumentStatus.READY,
            held_until=None,
            progress=100,
            error=None,
            chunk_count=chunk_count,
            chunks_embedded=chunk_count,
            embedding_model=model,
            status_changed_at=now,
            finished_at=now,
        )
        await session.execute(delete(DocumentPart).where(DocumentPart.document_id == job.id))
        bot = await session.get(Bot, job.bot_id)
        if bot is not None and bot.embedding_model != model:
            previous, bot.embedding_model = bot.embedding_model, model
            if previous is not None:
                await _requeue_other_models(session, job, model)
    log.info(
        "document_ready",
        document_id=str(job.id),
        chunks=chunk_count,
        # Chunks sent to the embedding provider; the others came from the cache.
        embedded=_embedded(runtime) - timings.embedded_before,
        parse_peak_rss_mb=round(timings.parse_peak_rss / 2**20) if timings.parse_peak_rss else None,
        **timings.summary(),
    )


async def _requeue_other_models(session: AsyncSession, job: Job, model: str) -> None:
    """The bot moved to another embedding model: rebuild its other documents with it too."""
    stale = (
        await session.scalars(
            select(Document).where(
                Document.bot_id == job.bot_id,
                Document.id != job.id,
                Document.status == DocumentStatus.READY,
                Document.embedding_model != model,
            )
        )
    ).all()
    for document in stale:
        document.status, document.progress = DocumentStatus.QUEUED, 0
        document.attempts, document.status_changed_at = 0, utcnow()
        jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, str(document.id))
    log.info(
        "bot_embedding_model_changed", bot_id=str(job.bot_id), model=model, requeued=len(stale)
    )


async def fail(runtime: Runtime, document_id: str, reason: str) -> None:
    """Mark the document failed with `reason` and remove anything a partial run indexed."""
    doc_id = uuid.UUID(document_id)
    async with runtime.read() as session:
        document = await session.get(Document, doc_id)
        if document is None or document.status not in _UNFINISHED:
            return
        count = await vector_count(session, document)
        bot_id = document.bot_id
    # Vectors go first, while the document still reads `processing` (a reindex is refused
    # then), so they can never race with a new run's vectors.
    vectors_left = await _try_delete_vectors(runtime, bot_id, doc_id, count)
    async with runtime.transaction() as session:
        now = utcnow()
        await session.execute(
            update(Document)
            .where(Document.id == doc_id, Document.status.in_(_UNFINISHED))
            .values(
                status=DocumentStatus.FAILED,
                held_until=None,
                error=reason[:1000],
                chunk_count=0,
                status_changed_at=now,
                finished_at=now,
                updated_at=now,
            )
        )
        await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == doc_id))
        await session.execute(delete(DocumentPart).where(DocumentPart.document_id == doc_id))
        if vectors_left:  # the store is down too: try again later, with backoff
            jobs.enqueue(session, jobs.Task.PURGE_DOCUMENT, str(bot_id), document_id, count, None)
    log.warning("document_failed", document_id=document_id, reason=reason)


async def _try_delete_vectors(
    runtime: Runtime, bot_id: uuid.UUID, doc_id: uuid.UUID, count: int
) -> bool:
    """Delete a document's vectors; True when that failed and some may be left."""
    try:
        await delete_vectors(runtime, bot_id, doc_id, range(count))
    except AgentError as exc:
        log.warning("vector_cleanup_failed", document_id=str(doc_id), error=exc.message)
        return True
    return False


async def _discard_if_deleted(runtime: Runtime, job: Job, chunk_count: int) -> None:
    """A document deleted mid-run: remove the vectors this run may have added after the purge."""
    async with runtime.read() as session:
        exists = await session.scalar(select(Document.id).where(Document.id == job.id))
    if exists is None:
        written = range(max(chunk_count, job.previous_count))
        await delete_vectors(runtime, job.bot_id, job.id, written)


async def delete_vectors(
    runtime: Runtime, bot_id: uuid.UUID | str, document_id: uuid.UUID | str, indexes: range
) -> None:
    ids = [vector_id(document_id, i) for i in indexes]
    for start in range(0, len(ids), _IDS_PER_DELETE):
        await runtime.agent.vector_store.delete(str(bot_id), ids[start : start + _IDS_PER_DELETE])


async def purge(
    runtime: Runtime,
    bot_id: str,
    document_id: str | None,
    vector_count: int,
    storage_key: str | None,
) -> None:
    """What outlives a document's rows (or a failed run): its vectors and its stored file."""
    if document_id is not None:
        await delete_vectors(runtime, bot_id, document_id, range(vector_count))
    if storage_key is not None:
        storage.remove_stored(runtime.settings.upload_dir, storage_key)


async def requeue_stuck(runtime: Runtime) -> int:
    """Send again the documents whose run died (its lease ran out), and, as a backstop, those
    that sat `queued` or `processing` too long (a lost message)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=runtime.settings.stuck_after_seconds)
    async with runtime.transaction() as session:
        stuck = (
            await session.scalars(
                select(Document)
                .where(
                    Document.status.in_(_UNFINISHED),
                    or_(
                        # A dead run: its lease ran out (or a retry's backoff ended; its
                        # own message is due then too, and a spare wake-up finds nothing).
                        and_(
                            Document.status == DocumentStatus.PROCESSING,
                            Document.held_until < now,
                        ),
                        Document.status_changed_at < cutoff,
                    ),
                )
                .order_by(Document.status_changed_at)
                .limit(500)
            )
        ).all()
        for document in stuck:
            # Once per dead run, or per full timeout; the next delivery claims it.
            document.held_until, document.status_changed_at = None, now
            jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, str(document.id))
        dead_parts = (
            await session.scalars(
                select(DocumentPart)
                .where(
                    DocumentPart.status == PartStatus.PROCESSING,
                    DocumentPart.held_until < now,
                )
                .limit(500)
            )
        ).all()
        for part in dead_parts:
            part.held_until = None
            jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, str(part.document_id))
        stuck = [*stuck, *dead_parts]
    if stuck:
        log.warning("stuck_documents_requeued", count=len(stuck))
    return len(stuck)
