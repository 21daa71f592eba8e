from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agent.types import VectorMatch, VectorRecord


@runtime_checkable
class VectorStore(Protocol):
    """Vectors grouped by namespace (one namespace per bot). Upserts by id are idempotent."""

    name: str

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None: ...

    async def query(
        self, namespace: str, vector: Sequence[float], top_k: int
    ) -> list[VectorMatch]: ...

    async def delete(self, namespace: str, ids: Sequence[str]) -> None: ...

    async def delete_namespace(self, namespace: str) -> None: ...

    async def ping(self) -> None: ...
