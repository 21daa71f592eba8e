"""Builds the providers from settings passed in: one obvious place that picks each mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from agent.chunking import Chunker
from agent.embeddings.base import Embedder
from agent.llm.base import LLM
from agent.settings import AgentSettings
from agent.types import EmbeddingTask
from agent.vectorstores.base import VectorStore


@dataclass
class AgentProviders:
    settings: AgentSettings
    embedder: Embedder
    vector_store: VectorStore
    llm: LLM
    chunker: Chunker
    _closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in self._closers:
            await closer()


def build_embedder(
    settings: AgentSettings,
    *,
    engine: AsyncEngine,
    read_engine: AsyncEngine | None = None,
    redis_url: str | None = None,
) -> tuple[Embedder, list[Any]]:
    from agent.embeddings.cache import CachedEmbedder, RedisKeyValueCache, SqlKeyValueCache

    # A local query embedding costs less than a cache round trip; Gemini's costs money.
    tasks = (
        frozenset(EmbeddingTask) if settings.uses_gemini else frozenset({EmbeddingTask.DOCUMENT})
    )

    inner: Embedder
    if settings.uses_gemini:
        from agent.embeddings.gemini import GeminiEmbedder

        inner = GeminiEmbedder(
            api_key=settings.gemini_api_key or "",
            model=settings.gemini_embedding_model,
            dimensions=settings.embedding_dim,
            base_url=settings.gemini_base_url,
            timeout_seconds=settings.embed_timeout_seconds,
            max_attempts=settings.embed_max_attempts,
            retry_initial_seconds=settings.embed_retry_initial_seconds,
            retry_max_seconds=settings.embed_retry_max_seconds,
        )
    else:
        from agent.embeddings.local import LocalEmbedder

        inner = LocalEmbedder(settings.local_embedding_dim)
    if redis_url:
        redis_cache = RedisKeyValueCache(redis_url)
        return CachedEmbedder(inner, redis_cache, tasks=tasks), [redis_cache.close]
    sql_cache = SqlKeyValueCache(engine, read_engine=read_engine)
    return CachedEmbedder(inner, sql_cache, tasks=tasks), []


def build_vector_store(
    settings: AgentSettings, *, engine: AsyncEngine, read_engine: AsyncEngine | None = None
) -> VectorStore:
    if settings.uses_pinecone:
        from agent.vectorstores.pinecone import PineconeVectorStore

        return PineconeVectorStore(
            api_key=settings.pinecone_api_key or "", index_host=settings.pinecone_index_host or ""
        )
    from agent.vectorstores.local import LocalVectorStore

    return LocalVectorStore(
        engine,
        read_engine=read_engine,
        max_cache_bytes=settings.local_index_cache_mb * 1024 * 1024,
    )


def build_llm(settings: AgentSettings) -> LLM:
    if settings.uses_gemini:
        from agent.llm.gemini import GeminiLLM

        return GeminiLLM(settings)
    from agent.llm.local import LocalAnswerer

    return LocalAnswerer()


def build_providers(
    settings: AgentSettings,
    *,
    engine: AsyncEngine,
    read_engine: AsyncEngine | None = None,
    redis_url: str | None = None,
) -> AgentProviders:
    """The providers `settings` pick. The app database (`engine`, and `read_engine` for reads
    that lock nothing) holds local vectors and the embedding cache unless Redis is given."""
    embedder, closers = build_embedder(
        settings, engine=engine, read_engine=read_engine, redis_url=redis_url
    )
    llm = build_llm(settings)
    if hasattr(llm, "aclose"):
        closers.append(llm.aclose)
    return AgentProviders(
        settings=settings,
        embedder=embedder,
        vector_store=build_vector_store(settings, engine=engine, read_engine=read_engine),
        llm=llm,
        chunker=Chunker(settings.chunk_tokens, settings.chunk_overlap_tokens),
        _closers=closers,
    )
