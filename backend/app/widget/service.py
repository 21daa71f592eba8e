"""The widget's work: what a visitor may see and do with one bot.

Chat's turn and generation code does the answering (`app.chat.turns`, `app.chat.generation`);
this module only finds the visitor's conversation and decides how the turn starts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.exceptions import PlanLimitReached
from app.bots.models import Bot
from app.bots.service import public_bot_key
from app.chat import service as chat_service
from app.chat import turns
from app.chat.exceptions import MessageNotFound
from app.chat.models import Conversation, Message, MessageFeedback
from app.chat.schemas import FeedbackCreate
from app.core.config import Settings
from app.core.pagination import PageParams
from app.core.runtime import Runtime
from app.widget import tokens
from app.widget.exceptions import InvalidSession, QuotaReached, WidgetBotNotFound
from app.widget.schemas import SessionPublic, VisitorMessage, WidgetConfig


@dataclass(frozen=True, slots=True)
class PublicBot:
    """What the widget's routes read about a bot on every request (cached briefly)."""

    id: uuid.UUID
    public_key: str
    name: str
    welcome_message: str
    suggested_questions: tuple[str, ...]
    theme_color: str | None
    allowed_origins: tuple[str, ...]
    is_active: bool
    daily_message_limit: int | None


_PUBLIC_BOT = select(
    Bot.id, Bot.public_key, Bot.name, Bot.welcome_message, Bot.suggested_questions,
    Bot.theme_color, Bot.allowed_origins, Bot.is_active, Bot.daily_message_limit,
)  # fmt: skip


async def public_bot(runtime: Runtime, public_key: str) -> PublicBot:
    """The bot with this public key, from the runtime's cache when it was just read; 404."""
    key = public_bot_key(public_key)
    found = runtime.cache.get(key)
    if found is None:
        async with runtime.read() as session:
            row = (await session.execute(_PUBLIC_BOT.where(Bot.public_key == public_key))).first()
        if row is None:
            raise WidgetBotNotFound()
        found = PublicBot(
            row.id, row.public_key, row.name, row.welcome_message,
            tuple(row.suggested_questions or ()), row.theme_color,
            tuple(row.allowed_origins or ()), row.is_active, row.daily_message_limit,
        )  # fmt: skip
        runtime.cache.set(key, found)
    return found


def config(bot: PublicBot) -> WidgetConfig:
    return WidgetConfig(
        name=bot.name,
        welcome_message=bot.welcome_message,
        suggested_questions=list(bot.suggested_questions),
        theme_color=bot.theme_color,
    )


def start_session(
    settings: Settings, bot: PublicBot, origin: str, previous: str | None, new_conversation: bool
) -> SessionPublic:
    """A session for a new visitor, or a renewed one for a returning visitor: same visitor,
    same conversation unless `new_conversation`. A token past its renewal window, or made
    for another bot, key or site, starts a new visitor rather than failing."""
    visitor_id, conversation_id = tokens.new_visitor_id(), uuid.uuid4()
    if previous:
        try:
            old = tokens.verify(
                settings, previous, bot_id=bot.id, public_key=bot.public_key, origin=origin,
                grace_seconds=settings.widget_renew_days * 86400,
            )  # fmt: skip
        except InvalidSession:
            pass
        else:
            visitor_id = old.visitor_id
            if not new_conversation:
                conversation_id = old.conversation_id
    token, lifetime = tokens.issue(
        settings, visitor_id=visitor_id, bot_id=bot.id, public_key=bot.public_key,
        conversation_id=conversation_id, origin=origin,
    )  # fmt: skip
    return SessionPublic(
        session_token=token,
        visitor_id=visitor_id,
        conversation_id=conversation_id,
        expires_in=lifetime,
    )


async def _visitor_conversation(
    session: AsyncSession, bot_id: uuid.UUID, visitor: tokens.VisitorSession
) -> Conversation | None:
    """The session's conversation, once its first message made it; None before that."""
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.id == visitor.conversation_id, Conversation.deleted_at.is_(None)
        )
    )
    if conversation is not None and (
        conversation.bot_id != bot_id or conversation.visitor_id != visitor.visitor_id
    ):
        raise InvalidSession()
    return conversation


async def start_turn(
    session: AsyncSession,
    runtime: Runtime,
    bot: PublicBot,
    visitor: tokens.VisitorSession,
    content: str,
) -> turns.Turn:
    """The visitor's question as a chat turn; the first one starts the conversation."""
    full_bot = await session.get(Bot, bot.id)
    if full_bot is None:
        raise WidgetBotNotFound()
    question = turns.Question(content)
    embedding_model = runtime.agent.embedder.model
    conversation = await _visitor_conversation(session, bot.id, visitor)
    try:
        if conversation is not None:
            return await turns.start_turn(
                session, conversation, full_bot, question,
                settings=runtime.settings, embedding_model=embedding_model,
            )  # fmt: skip
        return await turns.start_new_conversation(
            session,
            turns.NewConversation(visitor_id=visitor.visitor_id, origin=visitor.origin),
            full_bot,
            question,
            settings=runtime.settings,
            embedding_model=embedding_model,
            conversation_id=visitor.conversation_id,
        )
    except PlanLimitReached as exc:
        raise QuotaReached() from exc


async def history(
    session: AsyncSession,
    bot: PublicBot,
    visitor: tokens.VisitorSession,
    params: PageParams,
    *,
    newest_first: bool,
) -> tuple[list[VisitorMessage], int]:
    """The visitor's conversation, with the visitor's own ratings (chat's message list)."""
    conversation = await _visitor_conversation(session, bot.id, visitor)
    if conversation is None:
        return [], 0
    rows, total = await chat_service.list_messages(
        session, conversation, params, newest_first=newest_first
    )
    items = [
        VisitorMessage(
            id=message.id,
            role=message.role,
            content=message.content,
            sources=message.sources or [],
            status=message.status,
            feedback=rating,
            created_at=message.created_at,
        )
        for message, rating, *_ in rows
    ]
    return items, total


async def rate(
    session: AsyncSession,
    bot: PublicBot,
    visitor: tokens.VisitorSession,
    message_id: uuid.UUID,
    data: FeedbackCreate,
) -> MessageFeedback:
    """Rate an answer of the visitor's own conversation; any other message is a 404."""
    message = await session.scalar(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.id == message_id,
            Conversation.id == visitor.conversation_id,
            Conversation.bot_id == bot.id,
            Conversation.visitor_id == visitor.visitor_id,
            Conversation.deleted_at.is_(None),
        )
    )
    if message is None:
        raise MessageNotFound()
    return await chat_service.rate_message(session, message, data)
