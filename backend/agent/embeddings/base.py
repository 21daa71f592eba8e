from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agent.types import EmbeddingTask


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors. `embed` returns one L2-normalised vector per text, in order."""

    provider: str
    model: str
    dimensions: int

    async def embed(self, texts: Sequence[str], task: EmbeddingTask) -> list[list[float]]: ...


class KeyValueCache(Protocol):
    """Byte store behind the embedding cache: Redis in production, local otherwise."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set_many(self, items: dict[str, bytes]) -> None: ...
