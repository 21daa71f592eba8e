"""Conversations, their messages and feedback, and each bot's monthly usage.

A chat turn itself (read, generate, write) is in `app.chat.turns` and `app.chat.generation`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, ColumnElement, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.bots.models import Bot
from app.chat.exceptions import ConversationNotFound, FeedbackNotAllowed, MessageNotFound
from app.chat.models import BotUsage, Conversation, Message, MessageFeedback, MessageRole
from app.chat.schemas import ConversationCreate, ConversationUpdate, FeedbackCreate
from app.core.db import per_dialect, utcnow
from app.core.pagination import PageParams, paginate
from app.insights import recording as insights
from app.users.models import Principal

# --- Conversations ---------------------------------------------------------------------


class BotConversation(NamedTuple):
    conversation: Conversation
    bot: Bot


async def create_conversation(
    session: AsyncSession, owner: Principal, bot: Bot, data: ConversationCreate
) -> Conversation:
    conversation = Conversation(bot_id=bot.id, user_id=owner.id, title=data.title)
    session.add(conversation)
    await session.flush()
    return conversation


async def list_conversations(
    session: AsyncSession,
    owner: Principal,
    bot: Bot,
    params: PageParams,
    *,
    rating: str | None = None,
) -> tuple[list[Conversation], int]:
    """The owner's conversations with one bot, and its visitors' through the widget, most
    recently active first; with `rating`, only those with an answer rated so."""
    stmt = (
        select(Conversation)
        .where(
            Conversation.bot_id == bot.id,
            or_(Conversation.user_id == owner.id, Conversation.visitor_id.is_not(None)),
            Conversation.deleted_at.is_(None),
        )
        .order_by(Conversation.updated_at.desc(), Conversation.id)
    )
    if rating is not None:
        rated = (
            select(Message.conversation_id)
            .join(MessageFeedback, MessageFeedback.message_id == Message.id)
            .where(MessageFeedback.rating == rating)
        )
        stmt = stmt.where(Conversation.id.in_(rated))
    return await paginate(session, stmt, params)


async def get_owned_conversation(
    session: AsyncSession, owner: Principal, conversation_id: uuid.UUID
) -> BotConversation:
    """The conversation with its bot; someone else's, or a deleted one, is a 404."""
    row = await session.execute(
        _OWNED_CONVERSATION, {"conversation_id": conversation_id, "owner_id": owner.id}
    )
    found = row.one_or_none()
    if found is None or not owner.can_use_bot(found[1].id):
        raise ConversationNotFound()
    return BotConversation(*found)


def _visible_to(owner: Principal | BindParameter[uuid.UUID]) -> tuple[ColumnElement[bool], ...]:
    """Undeleted conversations with the owner's own bots (joined with Bot): the owner's own
    and the bots' visitors'."""
    owner_id = owner if isinstance(owner, BindParameter) else owner.id
    return (
        or_(Conversation.user_id == owner_id, Conversation.visitor_id.is_not(None)),
        Bot.owner_id == owner_id,
        Conversation.deleted_at.is_(None),
    )


# Built once: every chat turn loads its conversation (see `app.core.db.per_dialect`).
_OWNED_CONVERSATION = (
    select(Conversation, Bot)
    .join(Bot, Bot.id == Conversation.bot_id)
    .where(Conversation.id == bindparam("conversation_id"), *_visible_to(bindparam("owner_id")))
)


async def delete_conversation(session: AsyncSession, conversation: Conversation) -> None:
    conversation.deleted_at = utcnow()
    await session.flush()


# --- Messages and feedback -------------------------------------------------------------


async def list_messages(
    session: AsyncSession, conversation: Conversation, params: PageParams, *, newest_first: bool
) -> tuple[list[tuple[Message, str | None]], int]:
    """Oldest first, or newest first; each message with its rating (or None)."""
    order = (
        (Message.created_at.desc(), Message.id.desc())
        if newest_first
        else (Message.created_at, Message.id)
    )
    stmt = (
        select(Message, MessageFeedback.rating)
        .outerjoin(MessageFeedback, MessageFeedback.message_id == Message.id)
        .where(Message.conversation_id == conversation.id)
        .order_by(*order)
    )
    rows, total = await paginate(session, stmt, params)
    return [(row[0], row[1]) for row in rows], total


async def rename_conversation(
    session: AsyncSession, conversation: Conversation, data: ConversationUpdate
) -> Conversation:
    conversation.title = data.title
    await session.flush()
    return conversation


async def get_owned_message(
    session: AsyncSession, owner: Principal, message_id: uuid.UUID
) -> Message:
    row = await session.execute(
        select(Message, Bot.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Bot, Bot.id == Conversation.bot_id)
        .where(Message.id == message_id, *_visible_to(owner))
    )
    found = row.one_or_none()
    if found is None or not owner.can_use_bot(found[1]):
        raise MessageNotFound()
    return found[0]


async def rate_message(
    session: AsyncSession, message: Message, data: FeedbackCreate
) -> MessageFeedback:
    """Rate an answer; rating it again replaces the earlier rating."""
    if message.role != MessageRole.ASSISTANT:
        raise FeedbackNotAllowed()
    feedback = await session.scalar(
        select(MessageFeedback).where(MessageFeedback.message_id == message.id)
    )
    if feedback is None:
        feedback = MessageFeedback(message_id=message.id, rating=data.rating, comment=data.comment)
        try:
            async with session.begin_nested():
                session.add(feedback)
                await session.flush()
            if data.rating == "down":
                await insights.record_thumbs_down(session, message)
            return feedback
        except IntegrityError:  # a concurrent first rating won; replace it like a second one
            feedback = await session.scalar(
                select(MessageFeedback).where(MessageFeedback.message_id == message.id)
            )
            assert feedback is not None
    feedback.rating = data.rating
    feedback.comment = data.comment
    await session.flush()
    if data.rating == "down":
        await insights.record_thumbs_down(session, message)
    return feedback


# --- Monthly usage ---------------------------------------------------------------------


def current_period() -> str:
    return utcnow().strftime("%Y-%m")


@per_dialect
def _add_bot_usage(insert: Callable[[Any], Any]) -> Any:
    table = BotUsage.__table__
    stmt = insert(table).values(
        id=bindparam("id"),
        bot_id=bindparam("bot_id"),
        period=bindparam("period"),
        messages=bindparam("messages"),
        prompt_tokens=bindparam("prompt_tokens"),
        completion_tokens=bindparam("completion_tokens"),
    )
    return stmt.on_conflict_do_update(
        index_elements=[table.c.bot_id, table.c.period],
        set_={
            "messages": table.c.messages + stmt.excluded.messages,
            "prompt_tokens": table.c.prompt_tokens + stmt.excluded.prompt_tokens,
            "completion_tokens": table.c.completion_tokens + stmt.excluded.completion_tokens,
        },
    )


async def add_usage(
    session: AsyncSession,
    bot_id: uuid.UUID,
    *,
    messages: int = 0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> None:
    """Add to this month's counters in one atomic upsert (concurrent turns don't lose counts)."""
    await session.execute(
        _add_bot_usage(session),
        {
            "id": uuid.uuid4(),
            "bot_id": bot_id,
            "period": current_period(),
            "messages": messages,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
        },
    )
