from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

DEFAULT_FALLBACK = "Sorry, I couldn't find that in my documents."

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


def _origin(value: str) -> str:
    """An exact browser origin: scheme://host[:port], nothing else."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValueError("must be an origin such as https://example.com")
    return value.lower()


Origin = Annotated[str, AfterValidator(_origin)]
ThemeColor = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^#[0-9a-fA-F]{6}$"),
    Field(description="The widget's colour, `#rrggbb`; null for the default."),
]
RetrievalMode = Annotated[
    Literal["hybrid", "semantic", "keyword"],
    Field(description="hybrid: keyword and vector search fused; or one of them alone."),
]
MinScore = Annotated[
    float,
    Field(ge=-1, le=1, description="The vector relevance floor; null: the embedder's default."),
]
DailyLimit = Annotated[
    int,
    Field(ge=1, le=10_000_000, description="Widget messages a day; null: the server default."),
]


class BotFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(max_length=2000)] = ""
    system_prompt: Annotated[str, Field(max_length=8000)] = ""
    welcome_message: Annotated[str, Field(max_length=1000)] = ""
    fallback_message: Annotated[str, Field(min_length=1, max_length=1000)] = DEFAULT_FALLBACK
    model: Annotated[str | None, Field(max_length=100)] = None
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    top_k: Annotated[int, Field(ge=1, le=20)] = 5
    agent_type: Literal["rag", "chat"] = "rag"
    suggested_questions: Annotated[list[Question], Field(max_length=10)] = []
    allowed_origins: Annotated[list[Origin], Field(max_length=50)] = []
    is_active: bool = True
    theme_color: ThemeColor | None = None
    daily_message_limit: DailyLimit | None = None
    retrieval_mode: RetrievalMode = "hybrid"
    min_score: MinScore | None = None


Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"),
    Field(description="Names the bot as `model` in /openai; made from the name when left out."),
]


class BotCreate(BotFields):
    name: Name
    slug: Slug | None = None


class BotUpdate(BaseModel):
    """Every field optional; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    slug: Slug | None = None
    description: Annotated[str | None, Field(max_length=2000)] = None
    system_prompt: Annotated[str | None, Field(max_length=8000)] = None
    welcome_message: Annotated[str | None, Field(max_length=1000)] = None
    fallback_message: Annotated[str | None, Field(min_length=1, max_length=1000)] = None
    model: Annotated[str | None, Field(max_length=100)] = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    top_k: Annotated[int | None, Field(ge=1, le=20)] = None
    agent_type: Literal["rag", "chat"] | None = None
    suggested_questions: Annotated[list[Question] | None, Field(max_length=10)] = None
    allowed_origins: Annotated[list[Origin] | None, Field(max_length=50)] = None
    is_active: bool | None = None
    theme_color: ThemeColor | None = None
    daily_message_limit: DailyLimit | None = None
    retrieval_mode: RetrievalMode | None = None
    min_score: MinScore | None = None


class BotPublic(BotFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    public_key: str
    embedding_model: str | None
    document_count: int = 0
    messages_this_month: int = Field(default=0, description="Messages this calendar month (UTC).")
    created_at: datetime
    updated_at: datetime
