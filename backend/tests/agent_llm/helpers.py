"""Small deterministic Embedder, VectorStore and chunk catalogue for RAG tests.

They implement the agent protocols in a few lines, so these tests do not depend on the real
local embedder and store, which have their own tests.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence

from agent.embeddings.base import Embedder
from agent.llm.local import terms
from agent.rag import ChunkInfo
from agent.types import EmbeddingTask, VectorMatch, VectorRecord

DIMENSIONS = 256


class WordEmbedder:
    """Bag of stemmed content words, hashed: texts sharing no word score 0."""

    provider = "test"
    model = "test-words-v1"
    dimensions = DIMENSIONS

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], EmbeddingTask]] = []

    async def embed(self, texts: Sequence[str], task: EmbeddingTask) -> list[list[float]]:
        self.calls.append((list(texts), task))
        return [self._vector(t) for t in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * DIMENSIONS
        for term in set(terms(text)):
            vector[zlib.crc32(term.encode()) % DIMENSIONS] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


class MemoryStore:
    name = "memory"

    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, VectorRecord]] = {}
        self.queries: list[tuple[str, int]] = []

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        self.namespaces.setdefault(namespace, {}).update({r.id: r for r in records})

    async def query(self, namespace: str, vector: Sequence[float], top_k: int) -> list[VectorMatch]:
        self.queries.append((namespace, top_k))
        records = self.namespaces.get(namespace, {}).values()
        scored = [VectorMatch(r.id, _dot(vector, r.values), r.metadata) for r in records]
        return sorted(scored, key=lambda m: -m.score)[:top_k]

    async def delete(self, namespace: str, ids: Sequence[str]) -> None:
        for id_ in ids:
            self.namespaces.get(namespace, {}).pop(id_, None)

    async def delete_namespace(self, namespace: str) -> None:
        self.namespaces.pop(namespace, None)

    async def ping(self) -> None:
        return None


class Catalogue:
    """The app's side: chunk rows by vector id, plus a `resolve` that records its lookups."""

    def __init__(self) -> None:
        self.chunks: dict[str, ChunkInfo] = {}
        self.lookups: list[list[str]] = []

    async def index(
        self, embedder: Embedder, store: MemoryStore, namespace: str, name: str, texts: list[str]
    ) -> None:
        document_id = f"doc-{name}"
        vectors = await embedder.embed(texts, EmbeddingTask.DOCUMENT)
        records = []
        for index, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            vector_id = f"{document_id}:{index}"
            chunk_id = f"chunk-{name}-{index}"
            self.chunks[vector_id] = ChunkInfo(chunk_id, document_id, name, index, text)
            metadata = {"document_id": document_id, "chunk_index": index}
            records.append(VectorRecord(vector_id, vector, metadata))
        await store.upsert(namespace, records)

    async def resolve(self, ids: Sequence[str]) -> Mapping[str, ChunkInfo]:
        self.lookups.append(list(ids))
        return {i: self.chunks[i] for i in ids if i in self.chunks}


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))
