"""hybrid retrieval: a lexical index of chunks (FTS5 on SQLite, tsvector on PostgreSQL);
bots' retrieval_mode and min_score

Revision ID: 8b3e5f1a2c74
Revises: 7a2d9c4e1b53
Create Date: 2026-11-24 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3e5f1a2c74"
down_revision: str | tuple[str, ...] | None = "7a2d9c4e1b53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE document_chunks_fts USING fts5("
    "text, content='document_chunks', content_rowid='rowid', tokenize='porter unicode61')",
    "CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN "
    "INSERT INTO document_chunks_fts(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN "
    "INSERT INTO document_chunks_fts(document_chunks_fts, rowid, text) "
    "VALUES ('delete', old.rowid, old.text); END",
    "CREATE TRIGGER document_chunks_fts_update AFTER UPDATE OF text ON document_chunks BEGIN "
    "INSERT INTO document_chunks_fts(document_chunks_fts, rowid, text) "
    "VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO document_chunks_fts(rowid, text) VALUES (new.rowid, new.text); END",
    "INSERT INTO document_chunks_fts(rowid, text) SELECT rowid, text FROM document_chunks",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS document_chunks_fts_update",
    "DROP TRIGGER IF EXISTS document_chunks_fts_delete",
    "DROP TRIGGER IF EXISTS document_chunks_fts_insert",
    "DROP TABLE IF EXISTS document_chunks_fts",
]


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(
            sa.Column(
                "retrieval_mode", sa.String(length=16), nullable=False, server_default="hybrid"
            )  # fmt: skip
        )
        batch.add_column(sa.Column("min_score", sa.Double(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
    else:
        op.execute(
            "ALTER TABLE document_chunks ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
        )
        op.execute(
            "CREATE INDEX ix_document_chunks_search_vector ON document_chunks "
            "USING gin (search_vector)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_document_chunks_search_vector")
        op.execute("ALTER TABLE document_chunks DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("min_score")
        batch.drop_column("retrieval_mode")
