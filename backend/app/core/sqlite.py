"""SQLite through aiosqlite, with as few trips to its thread as a statement allows.

aiosqlite runs each call on the connection's own thread, and SQLAlchemy's adapter makes four
calls per statement (open a cursor, execute, fetch all, close). Each trip is a thread hand-off
that competes for the GIL with the event loop, which was most of a small request's cost on
the embedded default (bench/http.py). This dialect:
- runs a plain SELECT right away on the event loop when the engine allows it (`inline_reads`).
  In WAL mode a reader takes no lock a writer holds, so it does not wait; should SQLite ever
  answer "busy", the statement goes to the thread instead, where waiting is harmless. Engines
  that read big results (the agent's vector store) keep every statement on the thread;
- does the four steps of any other statement in one trip;
- skips COMMIT and ROLLBACK when no transaction is open;
- queues this process's write transactions on an asyncio lock per database file before they
  ask SQLite for its write lock (`begin_immediate`), so they take turns in order instead of
  polling in SQLite's busy handler, which sleeps up to 100 ms between tries. Other
  processes (the worker) still meet them at SQLite's lock.
Everything else is SQLAlchemy's aiosqlite dialect. URLs say `sqlite+chatsphere://`, and
`app.core.db.create_engine` picks it.
"""

from __future__ import annotations

import asyncio
import collections
import re
import sqlite3
from functools import lru_cache
from typing import Any

from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_cursor
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "chatsphere"
_PLAIN_SELECT = re.compile(r"\s*SELECT\b(?!.*\bFOR\s+UPDATE\b)", re.IGNORECASE | re.DOTALL)
# While a statement runs on the event loop it must never wait for a lock.
_NO_WAIT, _WAIT_MS = "PRAGMA busy_timeout = 0", 30_000


@lru_cache(maxsize=1024)
def _is_plain_select(operation: str) -> bool:
    """Remembered per SQL string: the lookahead scans the whole statement (8 µs for the bots
    list), and compiled statements come back as the same strings from SQLAlchemy's cache."""
    return _PLAIN_SELECT.match(operation) is not None


def _run(
    conn: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> tuple[Any, list[Any], int, int | None]:
    """On aiosqlite's thread: the whole statement, with its rows."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_now(
    conn: sqlite3.Connection, operation: str, parameters: Any
) -> tuple[Any, list[Any], int, int | None]:
    conn.execute(_NO_WAIT)
    try:
        return _run(conn, operation, parameters, many=False)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {_WAIT_MS}")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


class OneTripCursor(AsyncAdapt_dbapi_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # no aiosqlite cursor at all
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:  # type: ignore[override]
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            raw = connection._conn  # type: ignore[attr-defined]
            result = None
            if not many and self._adapt_connection.inline_reads and _is_plain_select(operation):
                try:
                    result = _run_now(raw, operation, parameters)
                except sqlite3.OperationalError as error:
                    if not _is_busy(error):
                        raise
            if result is None:
                result = await connection._execute(_run, raw, operation, parameters, many)  # type: ignore[attr-defined]
        self._description, rows, self._rowcount, self._lastrowid = result
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        pass  # nothing is open between trips

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        self._rows.clear()  # SQLite has one result set per statement


# Writers of this process, per database file; see `Connection.begin_immediate`.
_writers: dict[str, asyncio.Lock] = {}
WRITE_LOCK_TIMEOUT = 30.0  # SQLite's own busy timeout, in seconds


def writers_of(url: str) -> asyncio.Lock:
    path = url.split("://", 1)[1]
    return _writers.setdefault(path, asyncio.Lock())


class Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("inline_reads", "writers", "holds_write_lock")
    _cursor_cls = OneTripCursor

    @property
    def in_transaction(self) -> bool:
        connection = self._connection
        return bool(connection._connection) and connection.in_transaction

    def begin_immediate(self) -> None:
        """Start a write transaction: this process's turn first, then SQLite's write lock."""
        await_(self._wait_for_turn())
        try:
            self.cursor().execute("BEGIN IMMEDIATE")
        except BaseException:
            self._end_turn()
            raise

    async def _wait_for_turn(self) -> None:
        try:
            await asyncio.wait_for(self.writers.acquire(), WRITE_LOCK_TIMEOUT)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self.holds_write_lock = True

    def _end_turn(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            self.writers.release()

    # Reads run without BEGIN (see app.core.db): with no transaction open there is nothing
    # to end, and no reason to send a COMMIT or ROLLBACK to the thread.
    def rollback(self) -> None:
        try:
            if self.in_transaction:
                super().rollback()
        finally:
            self._end_turn()

    def commit(self) -> None:
        try:
            if self.in_transaction:
                super().commit()
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()


class DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(
        self,
        *arg: Any,
        inline_reads: bool = False,
        writers: asyncio.Lock | None = None,
        **kw: Any,
    ) -> Connection:
        # Statements may run on the event loop's thread too; never at the same time (one
        # checkout, one statement at a time behind the adapter's mutex).
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        connection = Connection(self, adapted._connection)
        connection.inline_reads = inline_reads
        connection.writers = writers or asyncio.Lock()
        connection.holds_write_lock = False
        return connection


class Dialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True  # SQL compilation is cached exactly as in its parent

    @classmethod
    def import_dbapi(cls) -> DBAPI:  # type: ignore[override]
        return DBAPI(__import__("aiosqlite"), __import__("sqlite3"))


def register() -> None:
    registry.register(f"sqlite.{DRIVER}", __name__, "Dialect")


def one_trip_url(url: str) -> str:
    """`sqlite+aiosqlite://...` (or `sqlite://...`) on this dialect."""
    scheme, rest = url.split("://", 1)
    return f"sqlite+{DRIVER}://{rest}" if scheme in ("sqlite", "sqlite+aiosqlite") else url
