"""Gemini answers through the official google-genai SDK (async client).

Retries (429 and 5xx) are ours, not the SDK's, so that streaming can stop retrying once a
token has reached the caller. Upstream error text goes to `detail` (logs), never to
`message` (shown to visitors).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agent.errors import AgentError, LLMBlocked, LLMError, LLMRateLimited, LLMTimeout
from agent.settings import AgentSettings
from agent.types import ChatMessage, Generation, GenerationConfig, Grounding, StreamChunk, Usage

log = logging.getLogger(__name__)
T = TypeVar("T")

# The SDK talks through httpx2 today; httpx and asyncio timeouts cover other transports.
_TIMEOUTS = (httpx2.TimeoutException, httpx.TimeoutException, TimeoutError)
_CONNECT_ERRORS = (httpx2.ConnectError, httpx.ConnectError)
_TRANSPORT_ERRORS = (httpx2.HTTPError, httpx.HTTPError)
_SDK_ERRORS = (
    genai_errors.APIError,
    genai_errors.UnknownApiResponseError,
    genai_errors.ContinuationInterruptedError,
    *_TRANSPORT_ERRORS,
    TimeoutError,
)
_BLOCKING_FINISH_REASONS = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION"}
)
_BLOCKED_MESSAGE = "The language model declined to answer this request for safety reasons."


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff for 429, 5xx and connection failures.

    A chat request waits on these, so the defaults stay short. A 429 whose Retry-After is
    longer than `max_wait` is not retried: the caller gets it at once, with `retry_after`.
    """

    attempts: int = 3
    initial_wait: float = 0.5
    max_wait: float = 4.0


class GeminiLLM:
    provider = "gemini"

    def __init__(
        self,
        settings: AgentSettings,
        *,
        retry: RetryPolicy = RetryPolicy(),
        client: genai.Client | None = None,
    ) -> None:
        if client is None and not settings.gemini_api_key:
            raise ValueError("GeminiLLM needs settings.gemini_api_key")
        self._client = client or genai.Client(
            api_key=settings.gemini_api_key,
            http_options=genai_types.HttpOptions(
                base_url=settings.gemini_base_url,
                timeout=int(settings.llm_timeout_seconds * 1000),  # the SDK takes milliseconds
            ),
        )
        self._default_model = settings.gemini_chat_model
        self._retry = retry

    async def aclose(self) -> None:
        await self._client.aio.aclose()

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> Generation:
        model, contents, request_config = self._request(messages, system, config)
        with _translated_errors():
            response = await self._with_retries(
                lambda: self._client.aio.models.generate_content(
                    model=model, contents=contents, config=request_config
                )
            )
        _raise_if_blocked(response)
        text = _text_of(response)
        finish_reason = _finish_reason(response)
        if not text:
            raise _empty_answer(finish_reason)
        return Generation(text=text, usage=_usage(response), finish_reason=finish_reason)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> AsyncIterator[StreamChunk]:
        request = self._request(messages, system, config)
        with _translated_errors():
            responses, buffered = await self._with_retries(lambda: self._open_stream(*request))
        usage, finish_reason, answered = Usage(), None, False
        try:
            with _translated_errors():
                async for response in _chain(buffered, responses):
                    _raise_if_blocked(response)
                    usage = _usage(response) if response.usage_metadata else usage
                    finish_reason = _finish_reason(response) or finish_reason
                    if text := _text_of(response):
                        answered = True
                        yield StreamChunk(delta=text)
        finally:
            await responses.aclose()
        if not answered:
            raise _empty_answer(finish_reason)
        yield StreamChunk(usage=usage, finish_reason=finish_reason)

    async def _open_stream(
        self,
        model: str,
        contents: list[genai_types.Content],
        config: genai_types.GenerateContentConfig,
    ) -> tuple[AsyncIterator[Any], list[genai_types.GenerateContentResponse]]:
        """Open the stream and read up to its first text, so failures until then can be retried."""
        responses = await self._client.aio.models.generate_content_stream(
            model=model, contents=contents, config=config
        )
        buffered: list[genai_types.GenerateContentResponse] = []
        try:
            async for response in responses:
                buffered.append(response)
                if _text_of(response) or _is_blocked(response):
                    break
        except BaseException:
            await responses.aclose()
            raise
        return responses, buffered

    def _request(
        self, messages: Sequence[ChatMessage], system: str, config: GenerationConfig
    ) -> tuple[str, list[genai_types.Content], genai_types.GenerateContentConfig]:
        contents = [
            genai_types.Content(
                role="model" if m.role == "assistant" else "user",
                parts=[genai_types.Part(text=m.content)],
            )
            for m in messages
        ]
        request_config = genai_types.GenerateContentConfig(
            system_instruction=system or None,
            temperature=config.temperature,
            max_output_tokens=config.max_output_tokens,
        )
        return config.model or self._default_model, contents, request_config

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        policy = self._retry
        # Jitter spreads out the retries of many chats hitting one rate limit together.
        backoff = wait_exponential_jitter(
            initial=policy.initial_wait, max=policy.max_wait, jitter=policy.initial_wait
        )

        def wait(state: RetryCallState) -> float:
            # Honour the server's Retry-After when it asks for longer than our backoff.
            hint = _retry_after(state.outcome.exception()) if state.outcome else None
            return max(backoff(state), hint or 0.0)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait,
            retry=retry_if_exception(lambda exc: _is_retriable(exc, policy.max_wait)),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity re-raises the last failure")


async def _chain(first: list[T], rest: AsyncIterator[T]) -> AsyncIterator[T]:
    for item in first:
        yield item
    async for item in rest:
        yield item


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn SDK and transport failures into `agent.errors`; anything else is a bug, left as is."""
    try:
        yield
    except _SDK_ERRORS as exc:
        raise _translate(exc) from exc


def _translate(exc: BaseException) -> AgentError:
    detail = f"gemini: {type(exc).__name__}: {exc}"
    if isinstance(exc, _TIMEOUTS):
        return LLMTimeout("The language model took too long to answer.", detail=detail)
    if isinstance(exc, genai_errors.APIError) and exc.code == 429:
        return LLMRateLimited(
            "The language model is receiving too many requests. Please try again shortly.",
            detail=detail,
            retry_after=_retry_after(exc),
        )
    if isinstance(exc, genai_errors.APIError) and exc.code and exc.code >= 500:
        return LLMError("The language model is unavailable right now.", detail=detail)
    return LLMError("The language model could not answer this request.", detail=detail)


def _empty_answer(finish_reason: str | None) -> LLMError:
    # Seen when thinking uses up max_output_tokens before any answer text.
    return LLMError(
        "The language model returned an empty answer.",
        detail=f"gemini finish_reason={finish_reason}",
    )


def _is_retriable(exc: BaseException, max_wait: float) -> bool:
    if isinstance(exc, _CONNECT_ERRORS):
        return True
    if not isinstance(exc, genai_errors.APIError):
        return False
    if exc.code == 429:
        hint = _retry_after(exc)
        return hint is None or hint <= max_wait
    return bool(exc.code) and 500 <= exc.code < 600


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds to wait, from the Retry-After header or the google.rpc.RetryInfo detail."""
    if not isinstance(exc, genai_errors.APIError):
        return None
    headers = getattr(exc.response, "headers", None) or {}
    if (value := _seconds(headers.get("retry-after"))) is not None:
        return value
    error = exc.details.get("error", exc.details) if isinstance(exc.details, dict) else {}
    for item in error.get("details") or []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            return _seconds(str(item.get("retryDelay", "")).removesuffix("s"))
    return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP-date Retry-After; rare enough to fall back to our backoff
        return None


def _is_blocked(response: genai_types.GenerateContentResponse) -> bool:
    if response.prompt_feedback and response.prompt_feedback.block_reason:
        return True
    return (_finish_reason(response) or "").upper() in _BLOCKING_FINISH_REASONS


def _raise_if_blocked(response: genai_types.GenerateContentResponse) -> None:
    if not _is_blocked(response):
        return
    feedback = response.prompt_feedback
    if feedback and feedback.block_reason:
        reason = f"{feedback.block_reason} {feedback.block_reason_message or ''}"
        detail = f"gemini blocked the prompt: {reason}"
    else:
        detail = f"gemini stopped the answer: finish_reason={_finish_reason(response)}"
    raise LLMBlocked(_BLOCKED_MESSAGE, detail=detail.strip())


def _text_of(response: genai_types.GenerateContentResponse) -> str:
    """The answer text, without "thought" parts (the model's reasoning is not the answer)."""
    if not response.candidates or not response.candidates[0].content:
        return ""
    parts = response.candidates[0].content.parts or []
    return "".join(p.text for p in parts if p.text and not p.thought)


def _finish_reason(response: genai_types.GenerateContentResponse) -> str | None:
    if not response.candidates or not response.candidates[0].finish_reason:
        return None
    reason = response.candidates[0].finish_reason
    return str(getattr(reason, "value", reason)).lower()


def _usage(response: genai_types.GenerateContentResponse) -> Usage:
    meta = response.usage_metadata
    if meta is None:
        return Usage()
    # Thinking tokens are billed as output, so they count as completion tokens.
    completion = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    return Usage(prompt_tokens=meta.prompt_token_count or 0, completion_tokens=completion)
