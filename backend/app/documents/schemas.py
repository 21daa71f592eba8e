from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.documents.models import DocumentStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class DocumentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bot_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    content_hash: str
    status: DocumentStatus
    progress: int
    error: str | None
    page_count: int | None
    chunk_count: int
    pages_done: int = Field(default=0, description="Pages parsed so far.")
    pages_total: int | None = Field(default=None, description="Pages in the file, once parsed.")
    chunks_embedded: int = Field(default=0, description="Chunks embedded and indexed so far.")
    eta_seconds: int | None = Field(
        default=None, description="Estimated seconds until ready, while it is processing."
    )
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _progress(cls, value: Any) -> Any:
        if isinstance(value, dict) or not hasattr(value, "chunks_embedded"):
            return value
        fields = {name: getattr(value, name) for name in cls.model_fields if hasattr(value, name)}
        fields["pages_total"] = value.page_count
        fields["eta_seconds"] = eta_seconds(value)
        return fields


def eta_seconds(document: Any) -> int | None:
    """From the embedding rate so far: (elapsed / embedded) x chunks left."""
    if document.status != DocumentStatus.PROCESSING or not document.started_at:
        return None
    done, total = document.chunks_embedded, document.chunk_count
    if not done or not total:
        return None
    started = document.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    return max(0, round(elapsed / done * (total - done)))


class DocumentEvent(BaseModel):
    """One document's state, as `GET /bots/{id}/documents/events` streams it."""

    id: uuid.UUID
    filename: str
    status: DocumentStatus
    progress: int
    pages_done: int
    pages_total: int | None
    chunks_embedded: int
    chunk_count: int
    eta_seconds: int | None
    error: str | None
    updated_at: datetime


class TextDocumentCreate(BaseModel):
    """Pasted text; stored and processed like an uploaded file named after `title`."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    # The byte limit (MAX_UPLOAD_MB) is checked on the encoded text and answers 413.
    content: str


class ChunkPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    chunk_index: int
    page: int | None
    heading: str | None
    text: str
    token_count: int


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    top_k: Annotated[int, Field(ge=1, le=50)] = 5


class SearchHit(BaseModel):
    chunk_id: str
    document_id: uuid.UUID
    document_name: str
    chunk_index: int
    page: int | None
    score: float = Field(description="fused_score, or dense_score for a semantic-only bot")
    text: str
    lexical_rank: int | None = Field(
        default=None, description="Its rank among keyword matches (1 = best); null: no match."
    )
    dense_score: float | None = Field(
        default=None, description="Cosine similarity to the query; null: not a vector hit."
    )
    fused_score: float | None = Field(default=None, description="Reciprocal-rank fusion score.")
    proximity_rank: int | None = Field(
        default=None,
        description="Hybrid only: its rank by the best two-sentence window's share of the "
        "query's words (1 = best), which votes in the fusion; null: no vote.",
    )


class SearchResults(BaseModel):
    items: list[SearchHit]
