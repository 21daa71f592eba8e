from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class UnansweredGroup(BaseModel):
    id: uuid.UUID = Field(description="Stable: the id of the group's first question.")
    question: str = Field(description="The most asked phrasing.")
    count: int
    last_seen_at: datetime
    examples: list[str] = Field(description="Up to five distinct phrasings, newest first.")
    reasons: dict[str, int] = Field(description="fallback, no_sources, thumbs_down: how often.")
    status: Literal["open", "answering", "resolved"]
    document_id: uuid.UUID | None = Field(description="The Q&A document written for it.")


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]


class Resolution(BaseModel):
    group_id: uuid.UUID
    document_id: uuid.UUID
    status: Literal["answering", "resolved"]


class DayCount(BaseModel):
    date: date
    messages: int


class SourceCount(BaseModel):
    document_id: str
    document_name: str
    citations: int


class UsageInsights(BaseModel):
    days: list[DayCount] = Field(description="Questions asked per day, the last 30 days (UTC).")
    total: int
    top_sources: list[SourceCount]
