"""Embedding cache: re-ingesting the same text makes no embedding call.

The key is a hash of (provider, model, dimensions, task, text), so switching any of them
can never serve a vector from another space. Vectors are stored as float32 bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.embeddings.base import Embedder, KeyValueCache
from agent.storage import dialect_insert, embedding_cache
from agent.types import EmbeddingTask

logger = logging.getLogger(__name__)

_KEYS_PER_STATEMENT = 500


class CachedEmbedder:
    """Wraps an `Embedder`: one cache lookup per call, one embedding call for all the misses."""

    def __init__(
        self,
        inner: Embedder,
        cache: KeyValueCache,
        *,
        tasks: frozenset[EmbeddingTask] = frozenset(EmbeddingTask),
    ) -> None:
        self.inner = inner
        self.cache = cache
        # Which tasks go through the cache; others go straight to the embedder.
        self.tasks = tasks
        self.provider = inner.provider
        self.model = inner.model
        self.dimensions = inner.dimensions
        self.hits = 0
        self.misses = 0
        # Texts that reached the wrapped embedder (the provider), cached or not: what a
        # benchmark or an invoice counts. A bypassed cache shows as every text here.
        self.embedded = 0

    def key(self, text: str, task: EmbeddingTask) -> str:
        parts = (self.provider, self.model, str(self.dimensions), str(task), text)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    async def embed(self, texts: Sequence[str], task: EmbeddingTask) -> list[list[float]]:
        if task not in self.tasks:
            self.embedded += len(texts)
            return await self.inner.embed(texts, task)
        keys = [self.key(t, task) for t in texts]
        found = await self._get(keys)
        missing: dict[str, str] = {}  # key -> text, each distinct text embedded once
        for key, text, blob in zip(keys, texts, found, strict=True):
            if blob is None:
                missing.setdefault(key, text)
        self.hits += len(texts) - sum(blob is None for blob in found)
        self.misses += len(missing)
        fresh: dict[str, list[float]] = {}
        if missing:
            self.embedded += len(missing)
            vectors = await self.inner.embed(list(missing.values()), task)
            fresh = dict(zip(missing, vectors, strict=True))
            await self._set({k: np.asarray(v, dtype="<f4").tobytes() for k, v in fresh.items()})
        return [
            fresh[key] if blob is None else np.frombuffer(blob, dtype="<f4").tolist()
            for key, blob in zip(keys, found, strict=True)
        ]

    async def _get(self, keys: list[str]) -> list[bytes | None]:
        try:
            return await self.cache.get_many(keys)
        except Exception:
            logger.warning("embedding cache read failed; embedding everything", exc_info=True)
            return [None] * len(keys)

    async def _set(self, items: dict[str, bytes]) -> None:
        try:
            await self.cache.set_many(items)
        except Exception:
            logger.warning("embedding cache write failed", exc_info=True)


class RedisKeyValueCache:
    """Production cache, shared by every worker."""

    def __init__(
        self, redis_url: str, *, ttl: timedelta = timedelta(days=30), prefix: str = "emb:"
    ) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(redis_url)
        self._ttl = ttl
        self._prefix = prefix

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return list(await self._redis.mget([self._prefix + k for k in keys]))

    async def set_many(self, items: dict[str, bytes]) -> None:
        if not items:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(self._prefix + key, value, ex=self._ttl)
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


class SqlKeyValueCache:
    """Embedded-mode cache in the app database (table `agent_embedding_cache`)."""

    def __init__(self, engine: AsyncEngine, *, read_engine: AsyncEngine | None = None) -> None:
        """`read_engine`: the caller's engine for reads, when it has one that locks nothing."""
        self._engine = engine
        self._read_engine = read_engine or engine

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes] = {}
        async with self._read_engine.connect() as conn:
            for start in range(0, len(keys), _KEYS_PER_STATEMENT):
                batch = list(keys[start : start + _KEYS_PER_STATEMENT])
                rows = await conn.execute(
                    select(embedding_cache.c.key, embedding_cache.c.value).where(
                        embedding_cache.c.key.in_(batch)
                    )
                )
                found.update({row.key: row.value for row in rows})
        return [found.get(k) for k in keys]

    async def set_many(self, items: dict[str, bytes]) -> None:
        if not items:
            return
        rows = [{"key": k, "value": v} for k, v in items.items()]
        async with self._engine.begin() as conn:
            insert = dialect_insert(conn.dialect.name, embedding_cache)
            if insert is None:
                raise NotImplementedError(
                    f"embedding cache needs SQLite or PostgreSQL, not {conn.dialect.name}"
                )
            # Another worker may have cached the same text meanwhile; its value is as good.
            await conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]), rows)
