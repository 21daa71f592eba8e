"""Shared fixtures: a migrated database per backend, per-test rollback, an ASGI client.

Database tests run on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set.
With REQUIRE_SERVICES=1 (CI), a missing or unreachable PostgreSQL/Redis fails the run
instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import time

# Celery reads CELERY_BROKER_URL from the environment before its own configuration; tests
# configure each app through Settings instead (an in-memory broker unless a worker runs).
os.environ.pop("CELERY_BROKER_URL", None)

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.config import Settings
from app.core.db import Base, create_engine
from app.core.runtime import Runtime
from app.main import create_app
from app.models import load_all_models

BACKEND_DIR = Path(__file__).resolve().parents[1]
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
SECRET = "test-secret-key-" + "x" * 32


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_SERVICES and not (TEST_DATABASE_URL and TEST_REDIS_URL):
        raise pytest.UsageError("REQUIRE_SERVICES=1 needs TEST_DATABASE_URL and TEST_REDIS_URL")


def _backend_params() -> list:
    pg_mark = [] if TEST_DATABASE_URL else [pytest.mark.skip(reason="TEST_DATABASE_URL not set")]
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pg_mark),
    ]


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(BACKEND_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BACKEND_DIR / "migrations"))
    cfg.attributes["configure_logger"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


async def run_alembic(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def run(sync_conn: object) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        action(cfg)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def _create_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"chatsphere_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


async def _drop_pg_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def clear_of_window_boundary() -> None:
    """Start a rate-limit test at least five seconds before a minute (and so an hour, a
    day) turns. Traffic limits approximate their sliding window from two fixed ones, which
    forgets part of a burst that straddles the turn: by design, but not in a test."""
    left = 60.0 - time.time() % 60.0
    if left < 5.0:
        await asyncio.sleep(left + 0.05)


@pytest.fixture(scope="session", params=_backend_params())
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        return
    assert TEST_DATABASE_URL
    admin_url = Settings(_env_file=None, database_url=TEST_DATABASE_URL).resolved_database_url
    name, url = await _create_pg_database(admin_url)
    yield url
    await _drop_pg_database(admin_url, name)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    load_all_models()
    engine = create_engine(database_url)
    await run_alembic(engine, lambda cfg: command.upgrade(cfg, "head"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        yield conn
        await trans.rollback()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=SECRET,
        celery_broker_url="memory://",
        # Tests make many accounts from one address; the limits have tests of their own.
        register_rate_limit="10000/minute",
        rate_limit_per_ip="100000/minute",
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
async def runtime(settings: Settings, engine: AsyncEngine, db_connection: AsyncConnection):
    # Each unit of work is a SAVEPOINT of the test's transaction, which is rolled back.
    rt = Runtime(settings, engine=engine, bind=db_connection)
    yield rt
    await rt.aclose()


@pytest.fixture
async def db(runtime: Runtime):
    """A session on the test transaction, for asserting what is stored."""
    async with runtime.transaction() as session:
        yield session


@pytest.fixture
def app(runtime: Runtime):
    return create_app(runtime=runtime)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


UserFactory = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> UserFactory:
    """Register and log in a fresh user; returns its auth headers."""

    async def make(
        email: str | None = None, password: str = "correct horse battery"
    ) -> dict[str, str]:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        r = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, "full_name": "T"}
        )
        assert r.status_code == 201, r.text
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest.fixture
async def owner(make_user: UserFactory) -> dict[str, str]:
    return await make_user()


# --- Committed ("live") mode -----------------------------------------------------------
# For tests where work happens outside the request's transaction: the local vector store,
# the embedding cache, Celery workers, concurrency. Rows are committed for real and every
# table is emptied afterwards.


async def _empty_all_tables(engine: AsyncEngine) -> None:
    from agent import storage as agent_storage

    load_all_models()
    tables = [*reversed(Base.metadata.sorted_tables), *agent_storage.metadata.sorted_tables]
    tables = [t for t in tables if not t.info.get("seed_data")]  # e.g. plans
    async with engine.begin() as conn:
        for table in tables:
            await conn.execute(table.delete())


@pytest.fixture
async def live_runtime(settings: Settings, engine: AsyncEngine):
    rt = Runtime(settings, engine=engine)
    yield rt
    await rt.aclose()
    await _empty_all_tables(engine)


@pytest.fixture
async def live_client(live_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=live_runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c


@pytest.fixture
def make_live_user(live_client: httpx.AsyncClient) -> UserFactory:
    async def make(
        email: str | None = None, password: str = "correct horse battery"
    ) -> dict[str, str]:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": password, "full_name": "T"}
        assert (await live_client.post("/api/v1/auth/register", json=body)).status_code == 201
        r = await live_client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make
