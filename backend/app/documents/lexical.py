"""The lexical (keyword) index of a bot's chunks, where the chunks live.

SQLite: an FTS5 table (`porter unicode61`) over `document_chunks`, kept in step by triggers.
PostgreSQL: a generated `tsvector` column with a GIN index. Either way the index changes in
the transaction that writes or deletes the chunk rows, and goes with them; nothing is
rebuilt per process. Queries are an OR of the question's content words (stop words dropped),
so a chunk never has to contain every word; only chunks of ready documents are returned.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession

from agent.embeddings._lexical import STOPWORDS
from app.documents.models import Document, DocumentChunk, DocumentStatus, vector_id

FTS_TABLE = "document_chunks_fts"
TSV_COLUMN = "search_vector"
TSV_INDEX = "ix_document_chunks_search_vector"
MAX_TERMS = 32
_WORD = re.compile(r"[a-z0-9]+")


def query_terms(query: str) -> list[str]:
    """The query's content words, lower-cased, in order, once each (safe to quote as is)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic's comparisons: the index's own objects are not models."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    if type_ == "index" and name == TSV_INDEX:
        return False
    return not (type_ == "column" and name == TSV_COLUMN)


_fts = table(FTS_TABLE, literal_column("rowid"))


async def search(session: AsyncSession, bot_id: uuid.UUID, query: str, limit: int) -> list[str]:
    """Vector ids of the bot's chunks that contain a content word of `query`, best first."""
    terms = query_terms(query)
    if not terms:
        return []
    base = (
        select(DocumentChunk.document_id, DocumentChunk.chunk_index)
        .join(Document, Document.id == DocumentChunk.document_id)
        .where(DocumentChunk.bot_id == bot_id, Document.status == DocumentStatus.READY)
        .limit(limit)
    )
    if session.bind.dialect.name == "sqlite":
        stmt = (
            base.join(
                _fts,
                literal_column(f"{FTS_TABLE}.rowid") == literal_column("document_chunks.rowid"),
            )
            .where(text(f"{FTS_TABLE} MATCH :match"))
            .order_by(text(f"bm25({FTS_TABLE})"))
        )
        params = {"match": " OR ".join(f'"{t}"' for t in terms)}
    else:
        tsquery = func.to_tsquery(
            literal_column("'english'::regconfig"), cast(bindparam("match"), Text)
        )
        vector = literal_column(f"document_chunks.{TSV_COLUMN}")
        stmt = base.where(vector.op("@@")(tsquery)).order_by(func.ts_rank(vector, tsquery).desc())
        params = {"match": " | ".join(terms)}
    rows = await session.execute(stmt, params)
    return [vector_id(document_id, index) for document_id, index in rows]
