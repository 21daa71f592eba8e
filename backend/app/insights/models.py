from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, utcnow


class UnansweredQuestion(IdMixin, Base):
    """A question that got the fallback message, no sources, or a thumbs-down: one row per
    answer. Grouped by similarity when read (see `app.insights.service`)."""

    __tablename__ = "unanswered_questions"
    __table_args__ = (Index("ix_unanswered_questions_bot_created", "bot_id", "created_at"),)

    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    # The answer it is about; one row per answer, whatever the reasons.
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    question: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))  # fallback | no_sources | thumbs_down
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InsightResolution(Base):
    """An owner's answer to a group of unanswered questions, written as a Q&A document. The
    group is resolved once that document is ready (and until it is asked again unanswered,
    or the document is deleted)."""

    __tablename__ = "insight_resolutions"

    group_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the group's first question
    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
