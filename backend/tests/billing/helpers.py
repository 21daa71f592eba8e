"""Rows in the documents domain's table, inserted directly: billing only reads bot_id and size."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Base


def documents_table():
    table = Base.metadata.tables.get("documents")
    if table is None:
        pytest.skip("the documents table does not exist yet")
    return table


def _filler(column: Any) -> Any:
    python_type = column.type.python_type
    return {
        uuid.UUID: uuid.uuid4(),
        str: uuid.uuid4().hex[: column.type.length or 32],
        int: 0,
        float: 0.0,
        bool: False,
        datetime: datetime.now(UTC),
        dict: {},
        list: [],
    }[python_type]


async def add_document(session: AsyncSession, bot_id: str, size_bytes: int) -> None:
    table = documents_table()
    values: dict[str, Any] = {"bot_id": uuid.UUID(bot_id), "size_bytes": size_bytes}
    for column in table.columns:
        has_default = column.default is not None or column.server_default is not None
        needs_value = not column.nullable and not has_default
        if column.name not in values and (needs_value or column.primary_key):
            values[column.name] = _filler(column)
    if "status" in table.columns:
        values["status"] = "ready"
    await session.execute(insert(table).values(**values))
