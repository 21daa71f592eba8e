"""Vectors kept in the app database, searched exactly with NumPy (the embedded default).

Each namespace's vectors are loaded into an in-memory matrix and cached per process, within
a memory budget (LOCAL_INDEX_CACHE_MB, least recently used out first). Every write bumps
the namespace's version row and logs the ids it touched in the same transaction, so a query
costs one cheap SELECT to learn whether the cached matrix is still current, even when another
process (a worker) did the writing; a stale matrix reloads only the rows that changed.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.storage import (
    CHANGE_LOG_VERSIONS,
    EVERYTHING,
    dialect_insert,
    vector_changes,
    vector_namespaces,
    vectors,
)
from agent.types import VectorMatch, VectorRecord
from agent.vectorstores._matrix import VectorMatrix

# SQLite caps bound parameters per statement; stay well below on every backend.
_IDS_PER_STATEMENT = 500


@dataclass(frozen=True, slots=True)
class _Snapshot:
    version: int
    matrix: VectorMatrix


class LocalVectorStore:
    name = "local"

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        read_engine: AsyncEngine | None = None,
        max_cache_bytes: int = 1024**3,
    ) -> None:
        """`read_engine`: the caller's engine for reads, when it has one that locks nothing."""
        self._engine = engine
        self._read_engine = read_engine or engine
        self._max_cache_bytes = max_cache_bytes
        self._cache: OrderedDict[str, _Snapshot] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        if not records:
            return
        # Last one wins when an id repeats, as it would with sequential upserts.
        latest = {r.id: r for r in records}
        rows = [
            {
                "namespace": namespace,
                "id": r.id,
                "vector": _to_bytes(r.values),
                "meta": dict(r.metadata),
            }
            for r in latest.values()
        ]
        async with self._engine.begin() as conn:
            await _delete_ids(conn, namespace, list(latest))
            await conn.execute(insert(vectors), rows)
            await _log_change(conn, namespace, list(latest))

    async def delete(self, namespace: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        async with self._engine.begin() as conn:
            await _delete_ids(conn, namespace, list(ids))
            await _log_change(conn, namespace, list(dict.fromkeys(ids)))

    async def delete_namespace(self, namespace: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(vectors).where(vectors.c.namespace == namespace))
            # The version row stays (and moves on) so a stale cache elsewhere can never match
            # a version number that is reused later.
            await _log_change(conn, namespace, [EVERYTHING])
        self._cache.pop(namespace, None)

    async def query(self, namespace: str, vector: Sequence[float], top_k: int) -> list[VectorMatch]:
        matrix = await self._matrix(namespace)
        if matrix is None:
            return []
        return [
            VectorMatch(
                id=matrix.ids[hit.position],
                score=hit.score,
                metadata=dict(matrix.metadata[hit.position]),
            )
            for hit in matrix.search(vector, top_k)
        ]

    async def ping(self) -> None:
        async with self._read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def _matrix(self, namespace: str) -> VectorMatrix | None:
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:  # one loader per namespace; concurrent queries wait for it
            async with self._read_engine.connect() as conn:
                version = await conn.scalar(
                    select(vector_namespaces.c.version).where(
                        vector_namespaces.c.namespace == namespace
                    )
                )
                if version is None:
                    return None
                cached = self._cache.get(namespace)
                if cached is None or cached.version != version:
                    # `version` was read first: rows written since are loaded too and loaded
                    # again next time, never missed.
                    try:
                        matrix = await _refresh(conn, namespace, cached, version)
                    except BaseException:
                        # A refresh changes the cached matrix in place: never keep a half one.
                        self._cache.pop(namespace, None)
                        raise
                    cached = _Snapshot(version, matrix)
                    self._remember(namespace, cached)
            self._cache.move_to_end(namespace)
            return cached.matrix

    def _remember(self, namespace: str, snapshot: _Snapshot) -> None:
        self._cache[namespace] = snapshot
        total = sum(s.matrix.nbytes for s in self._cache.values())
        while total > self._max_cache_bytes and len(self._cache) > 1:
            _, evicted = self._cache.popitem(last=False)
            total -= evicted.matrix.nbytes


async def _refresh(
    conn: AsyncConnection, namespace: str, cached: _Snapshot | None, version: int
) -> VectorMatrix:
    """The namespace's matrix at `version` or later: the cached one with only the changed
    rows reloaded when the change log covers the gap, else everything from the table."""
    if cached is None or version - cached.version > CHANGE_LOG_VERSIONS:
        return await _load(conn, namespace)
    changed = set(
        (
            await conn.scalars(
                select(vector_changes.c.id).where(
                    vector_changes.c.namespace == namespace,
                    vector_changes.c.version > cached.version,
                )
            )
        ).all()
    )
    if EVERYTHING in changed or len(changed) * 2 > max(len(cached.matrix), 1):
        return await _load(conn, namespace)
    rows = []
    ids = sorted(changed)
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        result = await conn.execute(
            select(vectors.c.id, vectors.c.vector, vectors.c.meta).where(
                vectors.c.namespace == namespace,
                vectors.c.id.in_(ids[start : start + _IDS_PER_STATEMENT]),
            )
        )
        rows.extend(result.all())
    width = cached.matrix.dimensions or (len(rows[0].vector) // 4 if rows else 0)
    kept = [r for r in rows if len(r.vector) == width * 4]
    return cached.matrix.with_changes(
        changed,
        [r.id for r in kept],
        [r.meta or {} for r in kept],
        _stack([r.vector for r in kept], width),
    )


async def _load(conn: AsyncConnection, namespace: str) -> VectorMatrix:
    result = await conn.execute(
        select(vectors.c.id, vectors.c.vector, vectors.c.meta)
        .where(vectors.c.namespace == namespace)
        .order_by(vectors.c.id)
    )
    rows = result.all()
    if not rows:
        return VectorMatrix([], [], np.zeros((0, 0), dtype=np.float32))
    width = len(rows[0].vector) // 4
    # Vectors of another width (an old embedding model) cannot be compared; skip them.
    kept = [r for r in rows if len(r.vector) == width * 4]
    return VectorMatrix(
        [r.id for r in kept], [r.meta or {} for r in kept], _stack([r.vector for r in kept], width)
    )


def _stack(blobs: list[bytes], width: int) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), width).copy()


async def _delete_ids(conn: AsyncConnection, namespace: str, ids: list[str]) -> None:
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        batch = ids[start : start + _IDS_PER_STATEMENT]
        await conn.execute(
            delete(vectors).where(vectors.c.namespace == namespace, vectors.c.id.in_(batch))
        )


async def _log_change(conn: AsyncConnection, namespace: str, ids: list[str]) -> None:
    """Move the namespace to a new version, noting which ids that version touched, and trim
    the log to the last CHANGE_LOG_VERSIONS versions."""
    version = await _bump_version(conn, namespace)
    await conn.execute(
        delete(vector_changes).where(
            vector_changes.c.namespace == namespace,
            vector_changes.c.version <= version - CHANGE_LOG_VERSIONS,
        )
    )
    await conn.execute(
        insert(vector_changes),
        [{"namespace": namespace, "version": version, "id": i} for i in ids],
    )


async def _bump_version(conn: AsyncConnection, namespace: str) -> int:
    upsert = dialect_insert(conn.dialect.name, vector_namespaces)
    if upsert is not None:
        # Atomic even when two writers create the namespace at the same moment.
        return await conn.scalar(
            upsert.values(namespace=namespace, version=1)
            .on_conflict_do_update(
                index_elements=[vector_namespaces.c.namespace],
                set_={"version": vector_namespaces.c.version + 1},
            )
            .returning(vector_namespaces.c.version)
        )
    bumped = await conn.execute(
        update(vector_namespaces)
        .where(vector_namespaces.c.namespace == namespace)
        .values(version=vector_namespaces.c.version + 1)
        .returning(vector_namespaces.c.version)
    )
    version = bumped.scalar()
    if version is None:
        await conn.execute(insert(vector_namespaces).values(namespace=namespace, version=1))
        return 1
    return version


def _to_bytes(values: Sequence[float]) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()
