"""Alembic environment: async engine, app models plus the agent library's tables."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from agent import storage as agent_storage
from app.core.config import get_settings
from app.core.db import Base, UTCDateTime, create_engine
from app.documents.lexical import include_object
from app.models import load_all_models

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

load_all_models()
target_metadata = [Base.metadata, agent_storage.metadata]


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.attributes.get("url")
    if url is None:
        settings = get_settings()
        settings.prepare_data_dir()
        url = settings.resolved_database_url
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
connection = config.attributes.get("connection")
if connection is not None:
    _run_sync(connection)
else:
    asyncio.run(_run_async())
