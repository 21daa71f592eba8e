"""Answering a turn: run the RAG agent, then store the turn (see `app.chat.turns`).

These run after the request's unit of work has ended (see `app.chat.responses`): no database
connection is held while the model works. Nothing here knows who is asking, so the widget
and the OpenAI-compatible API reuse it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

import anyio
from fastapi.sse import ServerSentEvent

from agent.chunking import count_tokens
from agent.errors import AgentError
from agent.rag import ChunkInfo, ChunkResolver, RagAgent, Source, SourcesEvent
from agent.retrieval import LexicalSearch
from agent.types import StreamChunk, Usage
from app.chat.models import MessageStatus
from app.chat.schemas import MessageAnswer
from app.chat.turns import Reply, Turn, finish_turn, source_dict
from app.core.errors import AppError, InternalError, from_agent_error
from app.core.logging import get_logger
from app.core.metrics import LLM_ERRORS, LLM_TOKENS
from app.core.runtime import Runtime
from app.documents import lexical
from app.documents import service as documents_service

log = get_logger(__name__)


async def answer(runtime: Runtime, turn: Turn) -> MessageAnswer:
    """The whole answer at once. A failure is stored as a failed reply, then raised."""
    started = time.perf_counter()
    try:
        result = await _agent(runtime).answer(
            turn.profile,
            turn.question,
            resolve=_resolver(runtime, turn.bot_id),
            lexical=_lexical(runtime, turn.bot_id),
            history=turn.history,
            selected_text=turn.selected_text,
        )
    except AgentError as exc:
        error = _failure(runtime, exc)
        await _save(
            runtime, turn, Reply("", MessageStatus.FAILED, _ms(started), error_code=error.code)
        )
        raise error from exc
    reply = Reply(
        result.text,
        MessageStatus.COMPLETE,
        _ms(started),
        sources=result.sources,
        usage=result.usage,
    )
    return MessageAnswer(
        message_id=await _save(runtime, turn, reply),
        conversation_id=turn.conversation_id,
        content=reply.content,
        sources=[source_dict(s) for s in reply.sources],
        usage=_usage_dict(reply.usage),
        latency_ms=reply.latency_ms,
    )


@dataclass(frozen=True, slots=True)
class Answered:
    """The last event of a turn that ended well: the answer is stored under `message_id`."""

    message_id: uuid.UUID
    reply: Reply


@dataclass(frozen=True, slots=True)
class Failed:
    """The last event of a turn that failed: stored as a failed reply; this is why."""

    error: AppError


TurnEvent = SourcesEvent | str | Answered | Failed


async def events(runtime: Runtime, turn: Turn) -> AsyncIterator[TurnEvent]:
    """The answer as it is generated: its sources, then text deltas, then Answered or Failed.

    When the consumer stops early (the client went away), generation stops and what was
    generated so far is stored as an interrupted reply. Streams in every format (chat's
    events, OpenAI's chunks) are written from these.
    """
    started = time.perf_counter()
    progress = _Progress()
    stream = _agent(runtime).stream(
        turn.profile,
        turn.question,
        resolve=_resolver(runtime, turn.bot_id),
        lexical=_lexical(runtime, turn.bot_id),
        history=turn.history,
        selected_text=turn.selected_text,
    )
    try:
        async for event in stream:
            if (taken := progress.take(event)) is not None:
                yield taken
    except AgentError as exc:
        error = _failure(runtime, exc)
        await _save(runtime, turn, progress.reply(started, MessageStatus.FAILED, error.code))
        yield Failed(error)
        return
    except Exception:
        log.exception("chat_stream_failed", conversation_id=str(turn.conversation_id))
        await _save(runtime, turn, progress.reply(started, MessageStatus.FAILED, "internal_error"))
        yield Failed(InternalError())
        return
    except BaseException:  # cancelled, or closed at a yield: the client is gone
        await _save(runtime, turn, progress.reply(started, MessageStatus.INTERRUPTED))
        raise
    finally:
        await stream.aclose()
    reply = progress.reply(started, MessageStatus.COMPLETE)
    yield Answered(await _save(runtime, turn, reply), reply)


async def stream(runtime: Runtime, turn: Turn) -> AsyncIterator[ServerSentEvent]:
    """Chat's Server-Sent Events: `sources`, then `token` deltas, then `done`; or `error`."""
    # Closed with this generator, at once: an interrupted answer is stored before we return.
    async with aclosing(events(runtime, turn)) as turn_events:
        async for event in turn_events:
            yield _chat_event(event, turn)


def _chat_event(event: TurnEvent, turn: Turn) -> ServerSentEvent:
    if isinstance(event, SourcesEvent):
        return ServerSentEvent(event="sources", data=[source_dict(s) for s in event.sources])
    if isinstance(event, str):
        return ServerSentEvent(event="token", data={"delta": event})
    if isinstance(event, Answered):
        return ServerSentEvent(
            event="done",
            data={
                "message_id": str(event.message_id),
                "conversation_id": str(turn.conversation_id),
                "usage": _usage_dict(event.reply.usage),
                "latency_ms": event.reply.latency_ms,
            },
        )
    return error_event(event.error)


def error_event(error: AppError) -> ServerSentEvent:
    data: dict[str, object] = {"code": error.code, "message": error.message}
    if "Retry-After" in error.headers:
        data["retry_after"] = int(error.headers["Retry-After"])
    return ServerSentEvent(event="error", data=data)


@dataclass(slots=True)
class _Progress:
    """What a stream has produced so far, so a cut-off answer can still be stored."""

    sources: list[Source] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None

    used_fallback: bool = False

    def take(self, event: SourcesEvent | StreamChunk) -> SourcesEvent | str | None:
        if isinstance(event, SourcesEvent):
            self.sources = event.sources
            self.used_fallback = event.used_fallback
            return event
        if event.usage is not None:
            self.usage = event.usage
        if not event.delta:
            return None
        self.parts.append(event.delta)
        return event.delta

    def reply(self, started: float, status: MessageStatus, error_code: str | None = None) -> Reply:
        content = "".join(self.parts)
        # Cut-off streams never got the provider's count; estimate what was generated.
        usage = self.usage or Usage(completion_tokens=count_tokens(content) if content else 0)
        return Reply(
            content, status, _ms(started), sources=self.sources, usage=usage, error_code=error_code
        )


def _agent(runtime: Runtime) -> RagAgent:
    providers = runtime.agent
    return RagAgent(providers.embedder, providers.vector_store, providers.llm)


def _resolver(runtime: Runtime, bot_id: uuid.UUID) -> ChunkResolver:
    async def resolve(ids: Sequence[str]) -> Mapping[str, ChunkInfo]:
        async with runtime.read() as session:
            return await documents_service.resolve_chunks(session, bot_id, ids)

    return resolve


def _lexical(runtime: Runtime, bot_id: uuid.UUID) -> LexicalSearch:
    async def search(query: str, limit: int) -> Sequence[str]:
        async with runtime.read() as session:
            return await lexical.search(session, bot_id, query, limit)

    return search


async def _save(runtime: Runtime, turn: Turn, reply: Reply) -> uuid.UUID:
    """The turn's write half, even while the caller is being cancelled."""
    with anyio.CancelScope(shield=True):
        async with runtime.transaction() as session:
            message_id = await finish_turn(session, turn, reply)
    provider = runtime.agent.llm.provider
    LLM_TOKENS.labels(provider, "prompt").inc(reply.usage.prompt_tokens)
    LLM_TOKENS.labels(provider, "completion").inc(reply.usage.completion_tokens)
    return message_id


def _failure(runtime: Runtime, exc: AgentError) -> AppError:
    error = from_agent_error(exc)
    provider = runtime.agent.llm.provider
    if error.code.startswith("llm_"):
        LLM_ERRORS.labels(provider, error.code).inc()
    log.warning(
        "chat_turn_failed",
        provider=provider,
        code=error.code,
        error_type=type(exc).__name__,
        detail=exc.detail,
    )
    return error


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _usage_dict(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
