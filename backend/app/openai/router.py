"""An OpenAI-compatible API per bot: point any OpenAI client at /api/v1/openai with an API
key, and use a bot's id or slug as `model`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing

from fastapi import APIRouter
from fastapi.responses import Response
from fastapi.sse import ServerSentEvent

from agent.rag import SourcesEvent
from app.chat import generation
from app.chat.responses import AfterCommitJSON
from app.chat.turns import Turn, source_dict
from app.core.errors import openai_error
from app.core.routes import reads_only
from app.core.runtime import Runtime, RuntimeDep, SessionDep
from app.core.streaming import EventStream
from app.openai import service
from app.openai.schemas import Completion, CompletionRequest, ModelList
from app.users.dependencies import CurrentUser, requires_scope

router = APIRouter(prefix="/openai", tags=["openai"])

_RESPONSES: dict[int | str, dict] = {
    200: {
        "model": Completion,
        "description": "A chat completion; with `stream: true`, `chat.completion.chunk`s as "
        "Server-Sent Events ending with `data: [DONE]`.",
    },
    404: {"description": "`model_not_found`: no bot of yours has this id or slug"},
    409: {"description": "`bot_inactive`"},
    429: {"description": "`rate_limited`, with Retry-After"},
}


@router.get("/models", response_model=ModelList)
async def list_models(user: CurrentUser, session: SessionDep) -> ModelList:
    """The bots this API key may use, as models: `id` is the bot's id."""
    return await service.list_models(session, user)


@router.post("/chat/completions", response_model=None, responses=_RESPONSES)
@reads_only  # the turn is written after generation, as for any chat turn
@requires_scope("chat")
async def create_completion(
    data: CompletionRequest, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Answer as the bot named by `model`: the messages are the conversation, the last user
    message the question. The answer cites its sources as `[n]`; the sources themselves are
    in `chatsphere.sources`. `temperature` and `max_tokens` apply within the bot's limits."""
    turn = await service.start(
        session, user, data, settings=runtime.settings, embedding_model=runtime.agent.embedder.model
    )
    if data.stream:
        include_usage = bool(data.stream_options and data.stream_options.include_usage)
        return EventStream(_chunks(runtime, turn, data.model, include_usage))
    return AfterCommitJSON(lambda: _complete(runtime, turn, data.model))


async def _complete(runtime: Runtime, turn: Turn, model: str) -> Completion:
    return service.completion(turn, model, await generation.answer(runtime, turn))


async def _chunks(
    runtime: Runtime, turn: Turn, model: str, include_usage: bool
) -> AsyncIterator[ServerSentEvent]:
    """OpenAI's stream: the role, content deltas, a last chunk with the finish reason and our
    citations (and the usage, when asked), then `[DONE]`."""
    head = {
        "id": service.completion_id(turn),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict, finish: str | None = None, **extra: object) -> ServerSentEvent:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return ServerSentEvent(data={**head, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    sources: list[dict] = []
    async with aclosing(generation.events(runtime, turn)) as events:
        async for event in events:
            if isinstance(event, SourcesEvent):
                sources = [source_dict(s) for s in event.sources]
            elif isinstance(event, str):
                yield chunk({"content": event})
            elif isinstance(event, generation.Answered):
                extension = {
                    "sources": sources,
                    "conversation_id": str(turn.conversation_id),
                    "message_id": str(event.message_id),
                }
                yield chunk({}, "stop", chatsphere=extension)
                if include_usage:
                    usage = event.reply.usage
                    total = usage.prompt_tokens + usage.completion_tokens
                    yield ServerSentEvent(data={**head, "choices": [], "usage": {
                        "prompt_tokens": usage.prompt_tokens,
                        "completion_tokens": usage.completion_tokens,
                        "total_tokens": total,
                    }})  # fmt: skip
            else:
                yield ServerSentEvent(data=openai_error(event.error))
    yield ServerSentEvent(raw_data="[DONE]")
