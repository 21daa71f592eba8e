"""A chat turn's two halves, around generation (see `app.chat.generation`).

1. `start_turn` reads, in the request's unit of work: is the bot on, is the quota left, what
   was said before. It writes nothing, so no write lock is held while the model works.
2. `finish_turn` writes, in one `runtime.transaction()` once the answer is complete (or cut
   off, or failed): both messages, the conversation and every usage counter, one statement
   per table.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.prompts import HISTORY_WINDOW
from agent.rag import BotProfile, Source
from agent.types import ChatMessage, Usage
from app.billing import service as billing_service
from app.bots.exceptions import BotInactive
from app.bots.models import Bot
from app.chat.models import Conversation, Message, MessageRole, MessageStatus
from app.chat.service import add_usage
from app.core.config import Settings
from app.core.db import utcnow
from app.insights import recording as insights

_TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Question:
    content: str
    selected_text: str | None = None


@dataclass(frozen=True, slots=True)
class NewConversation:
    """A turn that starts its own conversation, stored with it: an API caller's (the
    OpenAI-compatible API), or a widget visitor's first question."""

    user_id: uuid.UUID | None = None
    visitor_id: str | None = None
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything generation and `finish_turn` need, detached from any session."""

    conversation_id: uuid.UUID
    bot_id: uuid.UUID
    owner_id: uuid.UUID
    profile: BotProfile
    question: str
    selected_text: str | None
    history: tuple[ChatMessage, ...]
    period_start: datetime  # the usage period the message counts in
    asked_at: datetime = field(default_factory=utcnow)
    user_message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    new_conversation: NewConversation | None = None


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
    conversation: Conversation,
    bot: Bot,
    question: Question,
    *,
    settings: Settings,
    embedding_model: str,
) -> Turn:
    """Refuse a switched-off bot (409) or a used-up quota (402); gather the conversation.

    `embedding_model` is the running embedder's: a bot with nothing indexed yet has none of
    its own, and finds nothing in its empty namespace, so it gives its fallback.
    """
    return Turn(
        conversation_id=conversation.id,
        bot_id=bot.id,
        owner_id=bot.owner_id,
        profile=bot_profile(bot, embedding_model),
        question=question.content,
        selected_text=question.selected_text,
        history=await _recent_history(session, conversation.id),
        period_start=await _admit(session, bot, settings=settings),
    )


async def start_new_conversation(
    session: AsyncSession,
    new: NewConversation,
    bot: Bot,
    question: Question,
    history: tuple[ChatMessage, ...] = (),
    *,
    settings: Settings,
    embedding_model: str,
    overrides: dict[str, Any] | None = None,
    conversation_id: uuid.UUID | None = None,
) -> Turn:
    """A turn whose conversation is stored with its answer: `new` says whose. An API caller
    keeps the conversation and sends its `history`; a widget visitor's first question has
    none. `overrides` changes the bot's generation settings for this turn (temperature,
    max_output_tokens)."""
    profile = bot_profile(bot, embedding_model)
    return Turn(
        conversation_id=conversation_id or uuid.uuid4(),
        bot_id=bot.id,
        owner_id=bot.owner_id,
        profile=dataclasses.replace(profile, **(overrides or {})),
        question=question.content,
        selected_text=question.selected_text,
        history=history,
        period_start=await _admit(session, bot, settings=settings),
        new_conversation=new,
    )


async def _admit(session: AsyncSession, bot: Bot, *, settings: Settings) -> datetime:
    """Refuse a switched-off bot or a used-up quota; the usage period the turn counts in."""
    if not bot.is_active:
        raise BotInactive()
    return await billing_service.check_message_quota(session, bot.owner_id, settings=settings)


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
        retrieval_mode=bot.retrieval_mode,  # type: ignore[arg-type]  # checked by BotFields
        min_score=bot.min_score,
    )


# Built once: these run on every turn (see `app.core.db.per_dialect` for why).
_HISTORY = (
    select(Message.role, Message.content)
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.status != MessageStatus.FAILED,
        Message.content != "",
    )
    .order_by(Message.created_at.desc(), Message.id.desc())
    .limit(HISTORY_WINDOW)
)
_INSERT_MESSAGES = Message.__table__.insert()
_INSERT_CONVERSATION = Conversation.__table__.insert()
_UPDATE_CONVERSATION = (
    update(Conversation.__table__)
    .where(Conversation.__table__.c.id == bindparam("conversation"))
    .values(
        title=case(
            (Conversation.__table__.c.title == "", bindparam("title", type_=String)),
            else_=Conversation.__table__.c.title,
        ),
        message_count=Conversation.__table__.c.message_count + 2,
        last_message_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)


async def _recent_history(
    session: AsyncSession, conversation_id: uuid.UUID
) -> tuple[ChatMessage, ...]:
    """The last messages that carry text, oldest first (failed answers have none)."""
    rows = await session.execute(_HISTORY, {"conversation_id": conversation_id})
    return tuple(ChatMessage(role, content) for role, content in reversed(rows.all()))


async def finish_turn(session: AsyncSession, turn: Turn, reply: Reply) -> uuid.UUID:
    """Store the question and its answer, and count them; returns the answer's id."""
    answer_id = uuid.uuid4()
    now = utcnow()
    if (new := turn.new_conversation) is not None:
        await session.execute(
            _INSERT_CONVERSATION,
            {
                "id": turn.conversation_id,
                "bot_id": turn.bot_id,
                "user_id": new.user_id,
                "visitor_id": new.visitor_id,
                "origin": new.origin,
                "title": "",  # the update below sets it, as for any first turn
                "message_count": 0,
                "created_at": turn.asked_at,
                "updated_at": turn.asked_at,
            },
        )
    await session.execute(
        _INSERT_MESSAGES,
        [
            _row(turn.user_message_id, turn, MessageRole.USER, turn.question, turn.asked_at)
            | {"selected_text": turn.selected_text},
            _row(answer_id, turn, MessageRole.ASSISTANT, reply.content, now)
            | {
                "sources": [source_dict(s) for s in reply.sources],
                "prompt_tokens": reply.usage.prompt_tokens,
                "completion_tokens": reply.usage.completion_tokens,
                "latency_ms": reply.latency_ms,
                "status": reply.status,
                "error_code": reply.error_code,
            },
        ],
    )
    reason = (
        insights.unanswered_reason(
            turn.profile.fallback_message, reply.content, bool(reply.sources),
            rag=turn.profile.agent_type == "rag",
        )
        if reply.status == MessageStatus.COMPLETE
        else None
    )  # fmt: skip
    if reason is not None:  # one more statement, only for a question the bot couldn't answer
        await insights.record_turn(session, turn.bot_id, answer_id, turn.question, reason)
    await session.execute(
        _UPDATE_CONVERSATION,
        {"conversation": turn.conversation_id, "title": turn.question[:_TITLE_CHARS], "now": now},
    )
    # Counters last, account before bot, in every turn: their rows are shared by all of an
    # owner's conversations, and one order means no deadlock.
    tokens = reply.usage.prompt_tokens + reply.usage.completion_tokens
    await billing_service.count_usage(
        session, turn.owner_id, turn.period_start, messages=1, tokens=tokens
    )
    await add_usage(
        session,
        turn.bot_id,
        messages=1,
        prompt_tokens=reply.usage.prompt_tokens,
        completion_tokens=reply.usage.completion_tokens,
    )
    return answer_id


def _row(
    message_id: uuid.UUID, turn: Turn, role: MessageRole, content: str, at: datetime
) -> dict[str, Any]:
    return {
        "id": message_id,
        "conversation_id": turn.conversation_id,
        "role": role,
        "content": content,
        "created_at": at,
        "selected_text": None,
        "sources": [],
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "latency_ms": None,
        "status": MessageStatus.COMPLETE,
        "error_code": None,
    }


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
        "lexical_rank": source.lexical_rank,
        "dense_score": None if source.dense_score is None else round(source.dense_score, 6),
        "fused_score": None if source.fused_score is None else round(source.fused_score, 6),
    }
