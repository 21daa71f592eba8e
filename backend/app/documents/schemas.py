from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
    created_at: datetime
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


class SearchResults(BaseModel):
    items: list[SearchHit]
