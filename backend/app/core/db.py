"""Async SQLAlchemy: the declarative base, the engines, and what reads and writes may do.

The unit of work itself (`Runtime.transaction()` and `Runtime.read()`) lives in the runtime.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, event, make_url
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from app.core import sqlite

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Sessions of `Runtime.read()` carry this execution option: they may not write.
READ_OPTION = "chatsphere_read"
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|SAVEPOINT)\b", re.I)
_LOOPBACK = frozenset({None, "", "localhost", "127.0.0.1", "::1"})


class ReadOnlySessionError(RuntimeError):
    """A write was attempted through `Runtime.read()`; use `Runtime.transaction()`."""


def create_engine(
    url: str, *, pool_size: int = 20, inline_reads: bool = True, **kwargs: Any
) -> AsyncEngine:
    """An engine with a fixed pool. Pooled connections are not pinged: a dead one fails one
    request, and SQLAlchemy then replaces every connection made before it (see
    `errors.DatabaseUnavailable`). `inline_reads`: see `app.core.sqlite` (SQLite only).
    """
    kwargs.setdefault("pool_size", pool_size)
    kwargs.setdefault("max_overflow", 0)  # a fixed pool: no connect/close churn under load
    kwargs.setdefault("pool_timeout", 30)
    if url.startswith("sqlite"):
        _create_parent_dir(url)
        sqlite.register()
        url = sqlite.one_trip_url(url)
        connect_args = {
            "timeout": 30,
            "inline_reads": inline_reads,
            # This process's writers queue here, in order, rather than in SQLite's busy
            # handler (which sleeps up to 100 ms between tries): one lock per database file.
            "writers": sqlite.writers_of(url),
        }
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)  # it refuses writes in reads too, in the same listener
    else:
        kwargs.setdefault("pool_recycle", 1800)
        engine = create_async_engine(url, connect_args=_pg_connect_args(url), **kwargs)
        _refuse_writes_in_reads(engine)
    return engine


def read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for reads: no write lock on SQLite, no transaction on PostgreSQL."""
    if engine.dialect.name == "postgresql":
        # Each statement is its own (implicit) transaction: no BEGIN/COMMIT round trips.
        return engine.execution_options(**{READ_OPTION: True, "isolation_level": "AUTOCOMMIT"})
    return engine.execution_options(**{READ_OPTION: True})


def _create_parent_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _pg_connect_args(url: str) -> dict[str, Any]:
    # asyncpg tries TLS first by default: a wasted round trip per connection on loopback.
    # The URL decides: `?ssl=require` (or any ssl/sslmode) is honoured as given.
    parsed = make_url(url)
    if parsed.host in _LOOPBACK and not {"ssl", "sslmode"} & set(parsed.query):
        return {"ssl": False}
    return {}


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLite has one writer at a time. A write transaction takes the lock with BEGIN IMMEDIATE
    # at its first write (so the API and the worker wait for each other, busy timeout, instead
    # of failing with "database is locked"), and never for the reads before it. Reads, in
    # `Runtime.read()` or before that first write, run in SQLite's implicit deferred
    # transactions, one per statement: no lock, no BEGIN or COMMIT round trips.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _lock_before_first_write(
        conn: Any, cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if conn.get_execution_options().get(READ_OPTION):
            _refuse_write(statement, context)
            return
        if not conn.in_transaction():
            return
        dbapi = conn.connection.dbapi_connection
        if not dbapi.in_transaction and _takes_lock(statement, context):
            dbapi.begin_immediate()


def _takes_lock(statement: str, context: Any) -> bool:
    """A write, or a `SELECT ... FOR UPDATE` (which SQLite cannot express, so it locks all)."""
    if _WRITE.match(statement):
        return True
    compiled = getattr(getattr(context, "compiled", None), "statement", None)
    return getattr(compiled, "_for_update_arg", None) is not None


def _refuse_writes_in_reads(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _guard(conn: Any, _c: Any, statement: str, _p: Any, context: Any, _m: bool) -> None:
        if conn.get_execution_options().get(READ_OPTION):
            _refuse_write(statement, context)


def _refuse_write(statement: str, context: Any) -> None:
    if _takes_lock(statement, context):
        raise ReadOnlySessionError(f"a read session tried to write: {statement[:60]!r}")


_INSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite_dialect.insert,
}


def upsert_insert(session: AsyncSession, target: Any) -> Any:
    """The dialect's INSERT (PostgreSQL or SQLite), which supports ON CONFLICT clauses."""
    return _INSERTS[session.get_bind().dialect.name](target)


def per_dialect(build: Callable[[Callable[[Any], Any]], T]) -> Callable[[AsyncSession], T]:
    """A statement built once per dialect, for the hot paths: building a statement (an
    upsert's `excluded` alias above all) and keying it for the SQL cache cost more than
    running it. `build` gets the dialect's INSERT and takes its values as `bindparam`s."""
    built: dict[str, T] = {}

    def for_session(session: AsyncSession) -> T:
        name = session.get_bind().dialect.name
        stmt = built.get(name)
        if stmt is None:
            stmt = built[name] = build(_INSERTS[name])
        return stmt

    return for_session


def create_sessionmaker(
    bind: Any, *, read_only: bool = False, **kwargs: Any
) -> async_sessionmaker[AsyncSession]:
    info = {READ_OPTION: True} if read_only else {}
    return async_sessionmaker(
        bind=bind, expire_on_commit=False, autoflush=False, info=info, **kwargs
    )


@event.listens_for(Session, "before_flush")
def _no_flush_in_reads(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_OPTION) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionError("changes made in a read session are never saved")
