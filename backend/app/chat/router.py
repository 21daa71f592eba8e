from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response

from app.bots.dependencies import OwnedBot
from app.chat import generation, service, turns
from app.chat.dependencies import OwnedConversation, OwnedMessage
from app.chat.exceptions import ConversationReadOnly
from app.chat.responses import AfterCommitJSON
from app.chat.schemas import (
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    FeedbackCreate,
    FeedbackPublic,
    MessageAnswer,
    MessageCreate,
    MessagePublic,
)
from app.core.pagination import Page, PageParamsDep
from app.core.routes import reads_only
from app.core.runtime import RuntimeDep, SessionDep
from app.core.streaming import EventStream
from app.users.dependencies import CurrentUser, requires_scope

router = APIRouter(tags=["chat"])

_SSE_EXAMPLE = (
    'event: sources\ndata: [{"number": 1, "chunk_id": "…", "document_name": "faq.md", …}]\n\n'
    'event: token\ndata: {"delta": "Refunds "}\n\n'
    'event: done\ndata: {"message_id": "…", "usage": {…}, "latency_ms": 812}\n\n'
)
_ANSWER_RESPONSES: dict[int | str, dict] = {
    200: {
        "model": MessageAnswer,
        "description": "The answer; with streaming, Server-Sent Events.",
        "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _SSE_EXAMPLE}},
    },
    402: {"description": "`plan_limit_reached`: the monthly messages are used up"},
    409: {"description": "`bot_inactive`: the bot is switched off"},
    502: {"description": "`llm_error`"},
    503: {"description": "`llm_rate_limited`, with Retry-After"},
    504: {"description": "`llm_timeout`"},
}


@router.post(
    "/bots/{bot_id}/conversations",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationPublic,
)
@requires_scope("chat")
async def create_conversation(
    data: ConversationCreate, bot: OwnedBot, user: CurrentUser, session: SessionDep
) -> ConversationPublic:
    """Start a conversation with one of your bots."""
    conversation = await service.create_conversation(session, user, bot, data)
    return ConversationPublic.model_validate(conversation)


@router.get("/bots/{bot_id}/conversations", response_model=Page[ConversationPublic])
async def list_conversations(
    bot: OwnedBot,
    user: CurrentUser,
    session: SessionDep,
    page: PageParamsDep,
    rating: Annotated[
        Literal["up", "down"] | None, Query(description="Only those with an answer rated so")
    ] = None,
) -> Page[ConversationPublic]:
    """Your conversations with this bot, and its visitors' (widget), most recently active
    first."""
    items, total = await service.list_conversations(session, user, bot, page, rating=rating)
    return Page[ConversationPublic](
        items=[ConversationPublic.model_validate(c) for c in items],
        total=total,
        **page.model_dump(),
    )


@router.get("/conversations/{conversation_id}", response_model=ConversationPublic)
async def get_conversation(owned: OwnedConversation) -> ConversationPublic:
    """One of your conversations."""
    return ConversationPublic.model_validate(owned.conversation)


@router.patch("/conversations/{conversation_id}", response_model=ConversationPublic)
@requires_scope("chat")
async def rename_conversation(
    data: ConversationUpdate, owned: OwnedConversation, session: SessionDep
) -> ConversationPublic:
    """Rename a conversation."""
    conversation = await service.rename_conversation(session, owned.conversation, data)
    return ConversationPublic.model_validate(conversation)


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(owned: OwnedConversation, session: SessionDep) -> None:
    """Delete a conversation; it and its messages are no longer reachable."""
    await service.delete_conversation(session, owned.conversation)


@router.get("/conversations/{conversation_id}/messages", response_model=Page[MessagePublic])
async def list_messages(
    owned: OwnedConversation,
    session: SessionDep,
    page: PageParamsDep,
    order: Annotated[Literal["asc", "desc"], Query(description="By time: asc or desc")] = "asc",
) -> Page[MessagePublic]:
    """The conversation's messages, oldest first (`?order=desc`: newest first)."""
    items, total = await service.list_messages(
        session, owned.conversation, page, newest_first=order == "desc"
    )
    return Page[MessagePublic](
        items=[
            MessagePublic.model_validate(m).model_copy(update={"feedback": rating})
            for m, rating in items
        ],
        total=total,
        **page.model_dump(),
    )


@router.post(
    "/conversations/{conversation_id}/messages", response_model=None, responses=_ANSWER_RESPONSES
)
@reads_only  # the turn is written after generation, in a transaction of its own
@requires_scope("chat")
async def post_message(
    data: MessageCreate,
    owned: OwnedConversation,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> Response:
    """Ask the bot. The answer cites its sources as `[n]`.

    With `stream: true` or `Accept: text/event-stream` the answer comes as Server-Sent
    Events: `sources`, `token`…, `done` (or `error`). A visitor's conversation (widget) is
    read-only here: 409 `conversation_read_only`.
    """
    if owned.conversation.visitor_id is not None:
        raise ConversationReadOnly()
    turn = await turns.start_turn(
        session,
        owned.conversation,
        owned.bot,
        turns.Question(data.content, data.selected_text),
        settings=runtime.settings,
        embedding_model=runtime.agent.embedder.model,
    )
    # The answer runs in the response, after the request's unit of work has ended.
    if data.stream or "text/event-stream" in request.headers.get("accept", ""):
        return EventStream(generation.stream(runtime, turn))
    return AfterCommitJSON(lambda: generation.answer(runtime, turn))


@router.post("/messages/{message_id}/feedback", response_model=FeedbackPublic)
@requires_scope("chat")
async def rate_message(
    data: FeedbackCreate, message: OwnedMessage, session: SessionDep
) -> FeedbackPublic:
    """Rate an answer up or down, with an optional comment; rating again replaces it."""
    return FeedbackPublic.model_validate(await service.rate_message(session, message, data))
