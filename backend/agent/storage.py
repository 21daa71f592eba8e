"""Tables the agent library keeps in the app database (embedded mode only).

Defined with SQLAlchemy Core on their own `MetaData`, so the agent package needs no ORM
models from `app`. Migrations include `metadata` next to the app's own.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

# The same convention the app uses, so Alembic autogenerate names constraints stably.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

embedding_cache = Table(
    "agent_embedding_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

vectors = Table(
    "agent_vectors",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("id", String(128), nullable=False),
    # float32 bytes, little-endian: compact and loaded straight into NumPy.
    Column("vector", LargeBinary, nullable=False),
    # `key` keeps `vectors.c.meta` from reading like the MetaData object.
    Column("metadata", JSON, key="meta", nullable=False, default=dict),
    PrimaryKeyConstraint("namespace", "id"),
)

# Bumped in the same transaction as every write, so readers in other processes
# can tell with one cheap SELECT whether their in-memory matrix is stale.
vector_namespaces = Table(
    "agent_vector_namespaces",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("version", Integer, nullable=False, default=1),
)


# The ids each write touched, by namespace version: a reader whose matrix is a few versions
# old reloads only those rows. Trimmed to the last CHANGE_LOG_VERSIONS versions per namespace;
# a reader further behind reloads everything. The id "*" means "everything changed".
vector_changes = Table(
    "agent_vector_changes",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("id", String(128), nullable=False),
    PrimaryKeyConstraint("namespace", "version", "id"),
)
CHANGE_LOG_VERSIONS = 64
EVERYTHING = "*"


def dialect_insert(dialect_name: str, table: Table):
    """An INSERT that supports ON CONFLICT on SQLite and PostgreSQL, or None elsewhere."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect_name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return None
    return insert(table)
