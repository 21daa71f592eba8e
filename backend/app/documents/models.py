from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, TimestampMixin, utcnow


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Document(IdMixin, TimestampMixin, Base):
    __tablename__ = "documents"
    # The same bytes twice in one bot is a 409; the constraint is the last word under races.
    __table_args__ = (
        UniqueConstraint("bot_id", "content_hash"),
        # The sweep looks for unfinished documents that have not moved for a while.
        Index("ix_documents_status_status_changed_at", "status", "status_changed_at"),
    )

    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    # What the owner called the file: shown back to them, never used as a path.
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    # Generated name of the stored file under the upload store.
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    page_count: Mapped[int | None]
    chunk_count: Mapped[int] = mapped_column(default=0)
    pages_done: Mapped[int] = mapped_column(default=0, server_default="0")
    chunks_embedded: Mapped[int] = mapped_column(default=0, server_default="0")
    # Deliveries that started processing; the sweep gives up after too many.
    attempts: Mapped[int] = mapped_column(default=0)
    # The embedding model the document's vectors were made with.
    embedding_model: Mapped[str | None] = mapped_column(String(100))
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    # No run may claim the document before this: a live run's lease (renewed while it
    # works; past it the run is presumed dead and the document is taken over), or a retry's
    # backoff. See ingest.py.
    held_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class DocumentChunk(IdMixin, Base):
    __tablename__ = "document_chunks"
    __table_args__ = (UniqueConstraint("document_id", "chunk_index"),)

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    # Denormalised so chunk lookups by vector id can be scoped to a bot without a join.
    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    chunk_index: Mapped[int]
    page: Mapped[int | None]
    heading: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int]


def vector_id(document_id: uuid.UUID | str, chunk_index: int) -> str:
    """Deterministic, so a re-run overwrites a chunk's vector instead of adding a second one."""
    return f"{document_id}:{chunk_index}"


class IngestTurn(Base):
    """When an owner's document was last claimed: workers serve the owner who waited longest."""

    __tablename__ = "ingest_turns"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    served_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"


class DocumentPart(IdMixin, Base):
    """One page range of a long PDF, parsed by whichever worker claims it. When the last
    part is done, that worker chunks and embeds the whole document from the parts' pages;
    the parts go once the document is ready or failed."""

    __tablename__ = "document_parts"
    __table_args__ = (UniqueConstraint("document_id", "index"),)

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int]
    first_page: Mapped[int]
    last_page: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=PartStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    # A live run's lease on the part, as `Document.held_until` is on a document.
    held_until: Mapped[datetime | None]
    # The range's pages with text, [[number, text], ...], once parsed.
    pages: Mapped[list | None] = mapped_column(JSON)
