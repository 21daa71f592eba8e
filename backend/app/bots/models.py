from __future__ import annotations

import uuid

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, TimestampMixin


class Bot(IdMixin, TimestampMixin, Base):
    __tablename__ = "bots"
    # The slug names the bot as a `model` in the OpenAI-compatible API: one per owner.
    __table_args__ = (UniqueConstraint("owner_id", "slug"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    welcome_message: Mapped[str] = mapped_column(Text, default="")
    fallback_message: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(100))
    temperature: Mapped[float] = mapped_column(default=0.2)
    top_k: Mapped[int] = mapped_column(default=5)
    agent_type: Mapped[str] = mapped_column(String(16), default="rag")
    suggested_questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    # hybrid (keyword and vector search fused), semantic or keyword.
    retrieval_mode: Mapped[str] = mapped_column(
        String(16), default="hybrid", server_default="hybrid"
    )
    min_score: Mapped[float | None]  # the dense relevance floor; None: the embedder's default
    theme_color: Mapped[str | None] = mapped_column(String(7))  # the widget's, "#rrggbb"
    # Widget messages a day; None: the server's WIDGET_BOT_DAILY_LIMIT.
    daily_message_limit: Mapped[int | None]
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    # The embedding model this bot's vectors were made with; set by the first indexing.
    embedding_model: Mapped[str | None] = mapped_column(String(100))
