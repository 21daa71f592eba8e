"""Recording unanswered questions where the facts are, cheaply: one INSERT when a turn gets
the fallback or no sources (from chat's `finish_turn`), and one when an answer gets its first
thumbs-down. Read and grouped by `app.insights.service`."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.models import Conversation, Message, MessageRole
from app.core.db import utcnow
from app.insights.models import UnansweredQuestion

_INSERT = UnansweredQuestion.__table__.insert()


def unanswered_reason(fallback_message: str, content: str, cited: bool, *, rag: bool) -> str | None:
    """Why an answer counts as unanswered, or None."""
    if content.strip() == fallback_message.strip():
        return "fallback"
    if rag and not cited:
        return "no_sources"
    return None


async def record_turn(
    session: AsyncSession, bot_id: uuid.UUID, message_id: uuid.UUID, question: str, reason: str
) -> None:
    """One statement, in the turn's own transaction."""
    await session.execute(
        _INSERT,
        {"id": uuid.uuid4(), "bot_id": bot_id, "message_id": message_id,
         "question": question, "reason": reason, "created_at": utcnow()},
    )  # fmt: skip


async def record_thumbs_down(session: AsyncSession, answer: Message) -> None:
    """The answer's question, once per answer (an unanswered turn is already counted)."""
    if await session.scalar(
        select(UnansweredQuestion.id).where(UnansweredQuestion.message_id == answer.id)
    ):
        return
    row = (
        await session.execute(
            select(Conversation.bot_id, Message.content)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.conversation_id == answer.conversation_id,
                Message.role == MessageRole.USER,
                Message.created_at <= answer.created_at,
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )
    ).first()
    if row is not None:
        await record_turn(session, row.bot_id, answer.id, row.content, "thumbs_down")
