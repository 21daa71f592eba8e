from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.chat.schemas import Content, SourcePublic


class WidgetConfig(BaseModel):
    """What the widget shows before the first question."""

    name: str
    welcome_message: str
    suggested_questions: list[str]
    theme_color: str | None


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_token: Annotated[str | None, Field(max_length=4096)] = Field(
        default=None,
        description="The visitor's current (or recently expired) session: renewed, same visitor.",
    )
    new_conversation: bool = Field(
        default=False, description="Start a fresh conversation instead of continuing the last."
    )


class SessionPublic(BaseModel):
    session_token: str
    visitor_id: str
    conversation_id: uuid.UUID
    expires_in: int = Field(description="Seconds until the token expires.")


class VisitorMessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Content


class VisitorMessage(BaseModel):
    """A message of the visitor's conversation, as the widget shows it."""

    id: uuid.UUID
    role: Literal["user", "assistant"]
    content: str
    sources: list[SourcePublic] = []
    status: Literal["complete", "interrupted", "failed"]
    feedback: Literal["up", "down"] | None = Field(description="The visitor's rating, if any.")
    created_at: datetime


class EmbedPublic(BaseModel):
    snippet: str = Field(description="The one line to paste into a site's HTML.")
    preview_url: str = Field(description="A page of this server running the widget for this bot.")
    allowed_origins: list[str] = Field(description="Sites the widget works on (exact origins).")
