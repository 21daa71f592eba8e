from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_CONTENT_CHARS = 4000

Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Content = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CONTENT_CHARS)
]


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title = Field(default="", description="Defaults to the start of the first question.")


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ConversationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bot_id: uuid.UUID
    title: str
    visitor_id: str | None = Field(description="Set for a widget visitor's conversation.")
    origin: str | None = Field(default=None, description="The site a visitor chatted on.")
    message_count: int
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Content
    selected_text: Annotated[str | None, Field(max_length=MAX_CONTENT_CHARS)] = Field(
        default=None, description="Text the user highlighted; given to the model as context."
    )
    stream: bool = Field(default=False, description="Answer as Server-Sent Events.")


class UsagePublic(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class SourcePublic(BaseModel):
    """A cited chunk; `number` is how the answer cites it, as `[number]`."""

    number: int
    chunk_id: str
    document_id: str
    document_name: str
    chunk_index: int
    page: int | None
    score: float
    text: str
    lexical_rank: int | None = None
    dense_score: float | None = None
    fused_score: float | None = None


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    role: Literal["user", "assistant"]
    content: str
    selected_text: str | None = None
    sources: list[SourcePublic] = []
    usage: UsagePublic
    latency_ms: int | None
    status: Literal["complete", "interrupted", "failed"]
    error_code: str | None
    feedback: Literal["up", "down"] | None = Field(default=None, description="Its rating.")
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _usage_from_columns(cls, value: Any) -> Any:
        if hasattr(value, "prompt_tokens") and not isinstance(value, dict):
            return {
                **{
                    f: getattr(value, f)
                    for f in cls.model_fields
                    if f != "usage" and hasattr(value, f)
                },
                "usage": UsagePublic(
                    prompt_tokens=value.prompt_tokens, completion_tokens=value.completion_tokens
                ),
            }
        return value


class MessageAnswer(BaseModel):
    """The answer to a posted message (non-streaming)."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    content: str
    sources: list[SourcePublic]
    usage: UsagePublic
    latency_ms: int


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: Annotated[str | None, Field(max_length=2000)] = None


class FeedbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: uuid.UUID
    rating: Literal["up", "down"]
    comment: str | None
    created_at: datetime
    updated_at: datetime
