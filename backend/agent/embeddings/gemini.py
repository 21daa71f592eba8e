"""Gemini embeddings through the official google-genai SDK.

Requests go to `:batchEmbedContents` in batches of at most 100 texts. Rate limits, 5xx,
timeouts and connection errors are retried with exponential backoff and jitter for a
bounded number of attempts, then surface as `TransientError` so the caller's task can
retry later. Other 4xx are `PermanentError`. Vectors are L2-normalised here because
gemini-embedding-001 only normalises at its full 3072 dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from agent.errors import PermanentError, RateLimited, TransientError
from agent.types import EmbeddingTask

MAX_BATCH = 100
_TASK_TYPES = {EmbeddingTask.DOCUMENT: "RETRIEVAL_DOCUMENT", EmbeddingTask.QUERY: "RETRIEVAL_QUERY"}
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _transport_errors() -> tuple[type[Exception], ...]:
    # google-genai sends through httpx or its fork httpx2, whose exception classes are
    # distinct; timeouts and refused connections are TransportErrors in both.
    errors: list[type[Exception]] = [httpx.TransportError]
    try:
        import httpx2
    except ImportError:
        return tuple(errors)
    errors.append(httpx2.TransportError)
    return tuple(errors)


_TRANSPORT_ERRORS = _transport_errors()


class GeminiEmbedder:
    provider = "gemini"

    def __init__(
        self,
        *,
        api_key: str,
        model: str = "gemini-embedding-001",
        dimensions: int = 768,
        base_url: str | None = None,
        timeout_seconds: float = 30.0,
        max_attempts: int = 5,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 20.0,
    ) -> None:
        self.model = model
        self.dimensions = dimensions
        self._max_attempts = max(1, max_attempts)
        self._wait = wait_exponential_jitter(initial=retry_initial_seconds, max=retry_max_seconds)
        self._client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(base_url=base_url, timeout=int(timeout_seconds * 1000)),
        )

    async def embed(self, texts: Sequence[str], task: EmbeddingTask) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), MAX_BATCH):
            vectors.extend(await self._embed_batch(list(texts[start : start + MAX_BATCH]), task))
        return vectors

    async def _embed_batch(self, texts: list[str], task: EmbeddingTask) -> list[list[float]]:
        config = types.EmbedContentConfig(
            task_type=_TASK_TYPES[task], output_dimensionality=self.dimensions
        )
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._max_attempts),
                wait=self._wait,
                retry=retry_if_exception(_is_transient),
                reraise=True,
            ):
                with attempt:
                    response = await self._client.aio.models.embed_content(
                        model=self.model, contents=texts, config=config
                    )
        except (genai_errors.APIError, *_TRANSPORT_ERRORS) as exc:
            raise _translate(exc) from exc
        return _normalised(response, len(texts), self.dimensions)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, genai_errors.APIError):
        return exc.code in _RETRYABLE_STATUS
    return isinstance(exc, _TRANSPORT_ERRORS)


def _translate(exc: Exception) -> Exception:
    detail = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, genai_errors.APIError) and exc.code == 429:
        return RateLimited("the embedding provider is rate limited; try again later", detail=detail)
    if _is_transient(exc):
        return TransientError(
            "the embedding provider is unavailable; try again later", detail=detail
        )
    return PermanentError("the embedding provider rejected the request", detail=detail)


def _normalised(
    response: types.EmbedContentResponse, expected: int, dimensions: int
) -> list[list[float]]:
    embeddings = response.embeddings or []
    if len(embeddings) != expected or any(not e.values for e in embeddings):
        raise PermanentError(
            "the embedding provider returned an unexpected response",
            detail=f"expected {expected} embeddings, got {len(embeddings)}",
        )
    matrix = np.asarray([e.values for e in embeddings], dtype=np.float32)
    if matrix.shape[1] != dimensions:
        raise PermanentError(
            "the embedding provider returned vectors of the wrong size",
            detail=f"expected {dimensions} dimensions, got {matrix.shape[1]}",
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix.tolist()
