"""Pinecone through the official SDK's asyncio index client; one namespace per bot.

The SDK already retries 429/5xx with backoff on each request; what is still failing after
that becomes `TransientError` (the caller's task retries later), anything else
`PermanentError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from pinecone import AsyncIndex
from pinecone.errors import (
    NotFoundError,
    PineconeConnectionError,
    PineconeError,
    PineconeTimeoutError,
)

from agent.errors import PermanentError, TransientError
from agent.types import VectorMatch, VectorRecord

# Pinecone's documented request limits.
MAX_VECTORS_PER_UPSERT = 1000
MAX_UPSERT_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 40 * 1024
MAX_IDS_PER_DELETE = 1000
# Keeps a request under MAX_UPSERT_BYTES once the SDK adds its own envelope.
_REQUEST_OVERHEAD = 1024
_MAX_METADATA_STRING = 2000
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class PineconeVectorStore:
    name = "pinecone"

    def __init__(self, *, api_key: str, index_host: str, timeout_seconds: float = 30.0) -> None:
        self._api_key = api_key
        self._host = index_host
        self._timeout = timeout_seconds
        self._index: AsyncIndex | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        payload = [_record(r) for r in records]
        for batch in upsert_batches(payload):
            await self._call(
                lambda index, batch=batch: index.upsert(vectors=batch, namespace=namespace)
            )

    async def query(self, namespace: str, vector: Sequence[float], top_k: int) -> list[VectorMatch]:
        response = await self._call(
            lambda index: index.query(
                vector=[float(v) for v in vector],
                top_k=top_k,
                namespace=namespace,
                include_metadata=True,
            )
        )
        return [
            VectorMatch(id=m.id, score=float(m.score), metadata=dict(m.metadata or {}))
            for m in response.matches
        ]

    async def delete(self, namespace: str, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), MAX_IDS_PER_DELETE):
            batch = ids[start : start + MAX_IDS_PER_DELETE]
            await self._call(
                lambda index, batch=batch: index.delete(ids=batch, namespace=namespace)
            )

    async def delete_namespace(self, namespace: str) -> None:
        try:
            await self._client().delete(delete_all=True, namespace=namespace)
        except NotFoundError:
            return  # nothing was ever written there: already deleted
        except PineconeError as exc:
            raise _translate(exc) from exc

    async def ping(self) -> None:
        await self._call(lambda index: index.describe_index_stats())

    async def _call(self, operation: Callable[[AsyncIndex], Awaitable[Any]]) -> Any:
        try:
            return await operation(self._client())
        except PineconeError as exc:
            raise _translate(exc) from exc

    def _client(self) -> AsyncIndex:
        # The SDK's httpx client belongs to the event loop that first used it; Celery tasks
        # that run each job in a fresh loop need a fresh client.
        loop = asyncio.get_running_loop()
        if self._index is None or self._loop is not loop:
            self._index = AsyncIndex(host=self._host, api_key=self._api_key, timeout=self._timeout)
            self._loop = loop
        return self._index


def upsert_batches(records: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split records into requests under both the vector-count and the byte limit."""
    batch: list[dict[str, Any]] = []
    size = _REQUEST_OVERHEAD
    for record in records:
        record_size = len(json.dumps(record, separators=(",", ":"))) + 1
        if batch and (
            len(batch) == MAX_VECTORS_PER_UPSERT or size + record_size > MAX_UPSERT_BYTES
        ):
            yield batch
            batch, size = [], _REQUEST_OVERHEAD
        batch.append(record)
        size += record_size
    if batch:
        yield batch


def small_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata Pinecone accepts: no nulls, scalars or lists of strings, under 40 KB."""
    clean: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, str):
            clean[key] = value[:_MAX_METADATA_STRING]
        elif isinstance(value, (bool, int, float)):
            clean[key] = value
        elif isinstance(value, (list, tuple)):
            clean[key] = [str(v)[:_MAX_METADATA_STRING] for v in value][:100]
        else:
            clean[key] = str(value)[:_MAX_METADATA_STRING]
    # Still too big: drop the largest fields first; ids and numbers are small and survive.
    while clean and len(json.dumps(clean).encode()) > MAX_METADATA_BYTES:
        del clean[max(clean, key=lambda k: len(json.dumps(clean[k])))]
    return clean


def _record(record: VectorRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record.id, "values": [float(v) for v in record.values]}
    metadata = small_metadata(record.metadata)
    if metadata:
        out["metadata"] = metadata
    return out


def _translate(exc: PineconeError) -> Exception:
    detail = f"{type(exc).__name__}: {exc}"[:500]
    status = getattr(exc, "status_code", None)
    if (
        isinstance(exc, (PineconeTimeoutError, PineconeConnectionError))
        or status in _RETRYABLE_STATUS
    ):
        return TransientError("the vector store is unavailable; try again later", detail=detail)
    return PermanentError("the vector store rejected the request", detail=detail)
