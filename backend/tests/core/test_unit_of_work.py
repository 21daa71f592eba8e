"""The runtime's unit of work: transactions commit then send their jobs, reads never write and
never wait for a writer, and requests get the right one of the two."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import select, text, update

from app.core import jobs
from app.core.db import READ_OPTION, ReadOnlySessionError, create_engine
from app.core.errors import AppError
from app.core.routes import reads_only
from app.core.runtime import SessionDep
from app.main import create_app
from app.users.models import User
from tests.conftest import TEST_DATABASE_URL


@dataclass
class FakeCelery:
    """Records what would be sent; spec'd on the one method the runtime calls."""

    sent: list[tuple[str, tuple]] = field(default_factory=list)

    def send_task(self, name: str, args: tuple = (), kwargs: dict | None = None, countdown=None):
        self.sent.append((name, tuple(args)))


@pytest.fixture
def celery(live_runtime) -> FakeCelery:
    fake = FakeCelery()
    live_runtime.__dict__["celery"] = fake
    return fake


async def _user_count(runtime) -> int:
    async with runtime.read() as session:
        return len((await session.scalars(select(User.id))).all())


def _user() -> User:
    return User(email=f"{uuid.uuid4().hex[:8]}@example.com", password_hash="x", full_name="U")


async def test_a_transaction_commits_then_sends_its_jobs(live_runtime, celery):
    async with live_runtime.transaction() as session:
        session.add(_user())
        jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, "doc-1")
        assert celery.sent == []  # nothing leaves before the commit
    assert celery.sent == [("documents.process", ("doc-1",))]
    assert await _user_count(live_runtime) == 1


async def test_a_failed_transaction_rolls_back_and_sends_nothing(live_runtime, celery):
    with pytest.raises(RuntimeError):
        async with live_runtime.transaction() as session:
            session.add(_user())
            await session.flush()
            jobs.enqueue(session, jobs.Task.PROCESS_DOCUMENT, "doc-1")
            raise RuntimeError("boom")
    assert celery.sent == [] and await _user_count(live_runtime) == 0


async def test_an_error_that_must_persist_its_work_commits(live_runtime, celery):
    class Revoked(AppError):
        commit_on_raise = True

    with pytest.raises(Revoked):
        async with live_runtime.transaction() as session:
            session.add(_user())
            jobs.enqueue(session, jobs.Task.PURGE_BOT_VECTORS, "bot-1")
            raise Revoked()
    assert celery.sent == [("bots.purge_vectors", ("bot-1",))]
    assert await _user_count(live_runtime) == 1


async def test_a_read_refuses_to_write(live_runtime):
    async with live_runtime.read() as session:
        session.add(_user())
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
    async with live_runtime.read() as session:
        with pytest.raises(ReadOnlySessionError):
            await session.execute(update(User).values(full_name="x"))
    assert await _user_count(live_runtime) == 0


async def test_requests_get_a_read_or_a_transaction(live_runtime):
    app = create_app(runtime=live_runtime)

    async def mode(session: SessionDep) -> dict:
        return {"read": bool(session.info.get(READ_OPTION))}

    app.router.add_api_route("/mode", mode, methods=["GET", "POST"])
    app.router.add_api_route("/search-like", reads_only(lambda_copy(mode)), methods=["POST"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/mode")).json() == {"read": True}
        assert (await client.post("/mode")).json() == {"read": False}
        assert (await client.post("/search-like")).json() == {"read": True}


def lambda_copy(fn):
    async def copy(session: SessionDep) -> dict:
        return await fn(session)

    return copy


# --- SQLite: one writer at a time, and readers never wait for it ---------------------------


@pytest.fixture
def sqlite_file(live_runtime, database_url) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    return database_url.split("///", 1)[1]


async def test_reads_do_not_wait_for_a_writer(sqlite_file, live_client, make_live_user):
    owner = await make_live_user()
    bot = (await live_client.post("/api/v1/bots", json={"name": "B"}, headers=owner)).json()
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        assert (await live_client.get("/api/v1/bots", headers=owner)).status_code == 200
        search = {"query": "anything"}
        r = await live_client.post(f"/api/v1/bots/{bot['id']}/search", json=search, headers=owner)
        assert r.status_code == 200
        # A read that waited for the lock would sit out the 30 s busy timeout.
        assert time.monotonic() - started < 10
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_writers_wait_for_the_lock_then_succeed(sqlite_file, live_runtime):
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with live_runtime.transaction() as session:
            session.add(_user())

    writers = [asyncio.create_task(write()) for _ in range(5)]
    await asyncio.sleep(0.3)
    assert not any(w.done() for w in writers)  # all wait, none failed
    other.execute("ROLLBACK")
    other.close()
    await asyncio.wait_for(asyncio.gather(*writers), 10)
    assert await _user_count(live_runtime) == 5


# --- PostgreSQL: a dropped connection fails one request, not the next ---------------------


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_dropped_database_connection_is_503_once(
    live_runtime, make_live_user, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL backends")
    owner = await make_live_user()
    app = create_app(runtime=live_runtime)
    live_runtime.cache.ttl = 0  # every request reads the user
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/api/v1/users/me", headers=owner)).status_code == 200
        # An administrator (or a failover) ends every connection the API has in its pool.
        admin = create_engine(database_url, pool_size=1)
        try:
            async with admin.connect() as conn:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database_url.rsplit("/", 1)[1]},
                )
        finally:
            await admin.dispose()
        r = await client.get("/api/v1/users/me", headers=owner)
        assert r.status_code == 503, r.text  # the one request that met a dead connection
        assert r.json()["error"]["code"] == "database_unavailable"
        assert r.headers["Retry-After"] == "1"
        for _ in range(3):  # the pool replaced every connection made before it
            assert (await client.get("/api/v1/users/me", headers=owner)).status_code == 200
