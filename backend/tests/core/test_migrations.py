"""Migrations run on every backend and produce exactly the schema the models describe."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from agent import storage as agent_storage
from app.core.db import Base
from app.documents.lexical import include_object
from tests.conftest import run_alembic


async def test_models_match_migrations(engine):
    def diff(sync_conn):
        opts = {"compare_type": True, "include_object": include_object}
        ctx = MigrationContext.configure(sync_conn, opts=opts)
        return compare_metadata(ctx, [Base.metadata, agent_storage.metadata])

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


async def test_downgrade_and_upgrade_again(engine):
    await run_alembic(engine, lambda cfg: command.downgrade(cfg, "base"))
    await run_alembic(engine, lambda cfg: command.upgrade(cfg, "head"))

    def tables(sync_conn):
        from sqlalchemy import inspect

        return set(inspect(sync_conn).get_table_names())

    async with engine.connect() as conn:
        names = await conn.run_sync(tables)
    assert {"users", "bots", "api_keys", "refresh_tokens"} <= names
