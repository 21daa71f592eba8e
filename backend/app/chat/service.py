"""Conversations, their messages and feedback, and the bookkeeping around each chat turn.

A turn has three steps, so that no database connection is held while the model works:
`start_turn` stores the question inside the request's transaction; generation (see
`app.chat.generation`) runs after that commit; `store_reply` saves the answer in a short
transaction of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.prompts import HISTORY_WINDOW
from agent.rag import BotProfile, Source
from agent.types import ChatMessage, Usage
from app.billing import service as billing_service
from app.bots.models import Bot
from app.chat.exceptions import ConversationNotFound, FeedbackNotAllowed, MessageNotFound
from app.chat.models import (
    BotUsage,
    Conversation,
    Message,
    MessageFeedback,
    MessageRole,
    MessageStatus,
)
from app.chat.schemas import ConversationCreate, FeedbackCreate, MessageCreate
from app.core.config import Settings
from app.core.db import upsert_insert, utcnow
from app.core.pagination import PageParams, paginate
from app.core.runtime import Runtime
from app.users.models import User

_TITLE_CHARS = 80


# --- Conversations ---------------------------------------------------------------------


class BotConversation(NamedTuple):
    conversation: Conversation
    bot: Bot


async def create_conversation(
    session: AsyncSession, owner: User, bot: Bot, data: ConversationCreate
) -> Conversation:
    conversation = Conversation(bot_id=bot.id, user_id=owner.id, title=data.title)
    session.add(conversation)
    await session.flush()
    return conversation


async def list_conversations(
    session: AsyncSession, owner: User, bot: Bot, params: PageParams
) -> tuple[list[Conversation], int]:
    """The owner's conversations with one bot, most recently active first."""
    stmt = (
        select(Conversation)
        .where(
            Conversation.bot_id == bot.id,
            Conversation.user_id == owner.id,
            Conversation.deleted_at.is_(None),
        )
        .order_by(Conversation.updated_at.desc(), Conversation.id)
    )
    return await paginate(session, stmt, params)


async def get_owned_conversation(
    session: AsyncSession, owner: User, conversation_id: uuid.UUID
) -> BotConversation:
    """The conversation with its bot; someone else's, or a deleted one, is a 404."""
    row = await session.execute(
        select(Conversation, Bot)
        .join(Bot, Bot.id == Conversation.bot_id)
        .where(Conversation.id == conversation_id, *_visible_to(owner))
    )
    found = row.one_or_none()
    if found is None:
        raise ConversationNotFound()
    return BotConversation(*found)


def _visible_to(owner: User) -> tuple[ColumnElement[bool], ...]:
    """The owner's own, undeleted conversations with their own bots (joined with Bot)."""
    return (
        Conversation.user_id == owner.id,
        Bot.owner_id == owner.id,
        Conversation.deleted_at.is_(None),
    )


async def delete_conversation(session: AsyncSession, conversation: Conversation) -> None:
    conversation.deleted_at = utcnow()
    await session.flush()


# --- Messages and feedback -------------------------------------------------------------


async def list_messages(
    session: AsyncSession, conversation: Conversation, params: PageParams
) -> tuple[list[Message], int]:
    """Oldest first."""
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.created_at, Message.id)
    )
    return await paginate(session, stmt, params)


async def get_owned_message(session: AsyncSession, owner: User, message_id: uuid.UUID) -> Message:
    message = await session.scalar(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Bot, Bot.id == Conversation.bot_id)
        .where(Message.id == message_id, *_visible_to(owner))
    )
    if message is None:
        raise MessageNotFound()
    return message


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
            return feedback
        except IntegrityError:  # a concurrent first rating won; replace it like a second one
            feedback = await session.scalar(
                select(MessageFeedback).where(MessageFeedback.message_id == message.id)
            )
            assert feedback is not None
    feedback.rating = data.rating
    feedback.comment = data.comment
    await session.flush()
    return feedback


# --- Chat turns ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything generation needs, detached from the request's session."""

    conversation_id: uuid.UUID
    bot_id: uuid.UUID
    owner_id: uuid.UUID
    user_message_id: uuid.UUID
    profile: BotProfile
    question: str
    selected_text: str | None
    history: tuple[ChatMessage, ...]


@dataclass(slots=True)
class Reply:
    content: str
    status: MessageStatus
    latency_ms: int
    sources: list[Source] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    error_code: str | None = None


async def start_turn(
    session: AsyncSession,
    runtime: Runtime,
    conversation: Conversation,
    bot: Bot,
    data: MessageCreate,
    *,
    visitor: bool = False,
) -> Turn:
    """Count the message against the plan, store the question, gather the conversation.

    Over the monthly message limit this refuses with 402 (429 for widget visitors).
    """
    history = await _recent_history(session, conversation)
    message = Message(
        conversation_id=conversation.id,
        role=MessageRole.USER,
        content=data.content,
        selected_text=data.selected_text,
    )
    session.add(message)
    if not conversation.title:
        conversation.title = data.content[:_TITLE_CHARS]
    conversation.updated_at = utcnow()
    await session.flush()
    # The counters come last: their row locks are shared by every chat of the owner and
    # are held until commit. Always the account's first, then the bot's (no deadlocks).
    await billing_service.record_message(
        session, bot.owner_id, settings=runtime.settings, visitor=visitor
    )
    await add_usage(session, bot.id, messages=1)
    return Turn(
        conversation_id=conversation.id,
        bot_id=bot.id,
        owner_id=bot.owner_id,
        user_message_id=message.id,
        # A bot with nothing indexed yet has no embedding model of its own; the running
        # embedder's finds nothing in its empty namespace, so the bot gives its fallback.
        profile=bot_profile(bot, runtime.agent.embedder.model),
        question=data.content,
        selected_text=data.selected_text,
        history=history,
    )


def bot_profile(bot: Bot, embedding_model: str) -> BotProfile:
    return BotProfile(
        namespace=str(bot.id),
        embedding_model=bot.embedding_model or embedding_model,
        system_prompt=bot.system_prompt,
        fallback_message=bot.fallback_message,
        temperature=bot.temperature,
        top_k=bot.top_k,
        agent_type="chat" if bot.agent_type == "chat" else "rag",
        model=bot.model,
    )


async def _recent_history(
    session: AsyncSession, conversation: Conversation
) -> tuple[ChatMessage, ...]:
    """The last messages that carry text, oldest first (failed answers have none)."""
    rows = await session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.status != MessageStatus.FAILED,
            Message.content != "",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(HISTORY_WINDOW)
    )
    return tuple(ChatMessage(m.role, m.content) for m in reversed(rows.all()))  # type: ignore[arg-type]


async def store_reply(
    session: AsyncSession, settings: Settings, turn: Turn, reply: Reply
) -> Message:
    message = Message(
        conversation_id=turn.conversation_id,
        role=MessageRole.ASSISTANT,
        content=reply.content,
        sources=[source_dict(s) for s in reply.sources],
        prompt_tokens=reply.usage.prompt_tokens,
        completion_tokens=reply.usage.completion_tokens,
        latency_ms=reply.latency_ms,
        status=reply.status,
        error_code=reply.error_code,
    )
    session.add(message)
    await session.flush()
    usage = reply.usage
    if usage.prompt_tokens or usage.completion_tokens:
        # Last, and in start_turn's order: account, then bot (see there).
        await billing_service.record_tokens(
            session,
            turn.owner_id,
            usage.prompt_tokens + usage.completion_tokens,
            settings=settings,
        )
        await add_usage(
            session,
            turn.bot_id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        )
    return message


def source_dict(source: Source) -> dict[str, Any]:
    return {
        "number": source.number,
        "chunk_id": source.chunk_id,
        "document_id": source.document_id,
        "document_name": source.document_name,
        "chunk_index": source.chunk_index,
        "page": source.page,
        "score": round(source.score, 6),
        "text": source.text,
    }


# --- Monthly usage ---------------------------------------------------------------------


def current_period() -> str:
    return utcnow().strftime("%Y-%m")


async def add_usage(
    session: AsyncSession,
    bot_id: uuid.UUID,
    *,
    messages: int = 0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> None:
    """Add to this month's counters in one atomic upsert (concurrent turns don't lose counts)."""
    table = BotUsage.__table__
    stmt = upsert_insert(session, table).values(
        id=uuid.uuid4(),
        bot_id=bot_id,
        period=current_period(),
        messages=messages,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
    excluded = stmt.excluded
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.bot_id, table.c.period],
            set_={
                "messages": table.c.messages + excluded.messages,
                "prompt_tokens": table.c.prompt_tokens + excluded.prompt_tokens,
                "completion_tokens": table.c.completion_tokens + excluded.completion_tokens,
            },
        )
    )
