"""Settings the agent library needs, passed in by the caller (never read from the environment here).

The app nests this model in its own settings; each field is read from the environment
variable of the same name (GEMINI_API_KEY, EMBEDDING_DIM, ...).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gemini_api_key: str | None = None
    gemini_base_url: str | None = None
    gemini_chat_model: str = "gemini-2.5-flash"
    gemini_embedding_model: str = "gemini-embedding-001"
    embedding_dim: int = 768
    pinecone_api_key: str | None = None
    pinecone_index_host: str | None = None
    llm_timeout_seconds: float = 60.0
    embed_timeout_seconds: float = 30.0
    chunk_tokens: int = 450
    chunk_overlap_tokens: int = 60
    max_pdf_pages: int = 2000
    # A PDF longer than this is parsed in ranges of this many pages, by any free workers.
    pdf_range_pages: int = Field(default=50, ge=1)
    # Each parse runs in a child process killed at this wall-clock deadline, and whose
    # memory may grow by at most PARSE_MEMORY_MB; a file that hits either fails with a reason.
    parse_timeout_seconds: float = Field(default=120.0, gt=0)
    parse_memory_mb: int = Field(default=512, ge=64)
    # Parsers refuse bigger inputs; the app sets this from its own upload limit.
    max_document_bytes: int = 20 * 1024 * 1024
    # The local embedder hashes features into this many dimensions (see embeddings/local.py).
    local_embedding_dim: int = 1024
    # The local vector store keeps each bot's matrix in memory, least recently used out
    # first once they take more than this (one bot bigger than it alone stays cached).
    local_index_cache_mb: int = Field(default=1024, ge=16)
    # Provider retries inside one call; after the last attempt a TransientError lets the
    # caller's task retry later instead.
    embed_max_attempts: int = 5
    embed_retry_initial_seconds: float = 0.5
    embed_retry_max_seconds: float = 20.0

    @property
    def uses_gemini(self) -> bool:
        return bool(self.gemini_api_key)

    @property
    def uses_pinecone(self) -> bool:
        return bool(self.pinecone_api_key and self.pinecone_index_host)
