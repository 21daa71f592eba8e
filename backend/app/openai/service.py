"""Chat completions as a bot: the request's messages are the conversation, the last user
message is the question, and the answer is the bot's, with its retrieval and citations."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.types import ChatMessage
from app.bots import service as bots_service
from app.bots.exceptions import BotNotFound
from app.bots.models import Bot
from app.chat import turns
from app.chat.schemas import MAX_CONTENT_CHARS, MessageAnswer
from app.core.config import Settings
from app.openai.exceptions import ModelNotFound, NoQuestion
from app.openai.schemas import (
    Choice,
    Completion,
    CompletionRequest,
    Extension,
    Model,
    ModelList,
    OutputMessage,
    Usage,
)
from app.users.models import Principal

OWNED_BY = "chatsphere"


async def list_models(session: AsyncSession, principal: Principal) -> ModelList:
    """The bots this caller may talk to, as models (`id` is the bot's id)."""
    stmt = select(Bot).where(Bot.owner_id == principal.id).order_by(Bot.created_at, Bot.id)
    if principal.bot_ids is not None:
        stmt = stmt.where(Bot.id.in_(sorted(principal.bot_ids)))
    bots = (await session.scalars(stmt.limit(1000))).all()
    return ModelList(
        data=[
            Model(
                id=str(bot.id),
                created=int(bot.created_at.timestamp()),
                owned_by=OWNED_BY,
                chatsphere={"name": bot.name, "slug": bot.slug},
            )
            for bot in bots
        ]
    )


async def resolve_bot(session: AsyncSession, principal: Principal, model: str) -> Bot:
    """The bot a `model` names: its id, or its slug among the caller's bots."""
    try:
        bot_id = uuid.UUID(model)
    except ValueError:
        bot_id = await session.scalar(
            select(Bot.id).where(Bot.owner_id == principal.id, Bot.slug == model)
        )
    if bot_id is None:
        raise ModelNotFound(details={"model": model})
    try:
        return await bots_service.get_owned(session, principal, bot_id)
    except BotNotFound:
        raise ModelNotFound(details={"model": model}) from None


async def start(
    session: AsyncSession,
    principal: Principal,
    data: CompletionRequest,
    *,
    settings: Settings,
    embedding_model: str,
) -> turns.Turn:
    bot = await resolve_bot(session, principal, data.model)
    question, history = _conversation(data)
    overrides: dict[str, Any] = {}
    if data.temperature is not None:
        overrides["temperature"] = data.temperature
    if (limit := data.max_completion_tokens or data.max_tokens) is not None:
        overrides["max_output_tokens"] = limit
    return await turns.start_new_conversation(
        session,
        turns.NewConversation(user_id=principal.id),
        bot,
        turns.Question(question),
        history,
        settings=settings,
        embedding_model=embedding_model,
        overrides=overrides,
    )


def _conversation(data: CompletionRequest) -> tuple[str, tuple[ChatMessage, ...]]:
    """The last user message is the question; earlier user and assistant turns are history
    (system and tool messages are the caller's plumbing, not the conversation)."""
    *earlier, last = data.messages
    question = last.text.strip()
    if last.role != "user" or not question:
        raise NoQuestion()
    if len(question) > MAX_CONTENT_CHARS:
        raise NoQuestion(f"The question is longer than {MAX_CONTENT_CHARS} characters.")
    history = tuple(
        ChatMessage(m.role, m.text)  # type: ignore[arg-type]
        for m in earlier
        if m.role in ("user", "assistant") and m.text
    )
    return question, history


def completion_id(turn: turns.Turn) -> str:
    return f"chatcmpl-{turn.user_message_id.hex}"


def completion(turn: turns.Turn, model: str, answer: MessageAnswer) -> Completion:
    extension = Extension(
        sources=[s.model_dump() for s in answer.sources],
        conversation_id=str(answer.conversation_id),
        message_id=str(answer.message_id),
    )
    prompt, done = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return Completion(
        id=completion_id(turn),
        created=int(time.time()),
        model=model,
        choices=[Choice(message=OutputMessage(content=answer.content, chatsphere=extension))],
        usage=Usage(prompt_tokens=prompt, completion_tokens=done, total_tokens=prompt + done),
        chatsphere=extension,
    )
