"""The one pagination shape: `?limit=&offset=` in, `{items, total, limit, offset}` out."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_OFFSET = 2**31 - 1


class PageParams(BaseModel):
    limit: int = 20
    offset: int = 0


async def _page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size (1-100)")] = 20,
    # Bounded: a value past the databases' 64-bit integers would crash the query (500).
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageParamsDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


async def paginate(
    session: AsyncSession, stmt: Select, params: PageParams, binds: dict[str, Any] | None = None
) -> tuple[list, int]:
    """One page of `stmt` and the count of all matching rows, in one query.

    Items are the selected entity, or the rows of selected columns (each also carrying the
    count as `_total`). A statement
    built once (at import, with `bindparam`s filled from `binds`) is also paged once: its
    SQL is then compiled and keyed once per process instead of on every request.
    """
    values = {**(binds or {}), "page_limit": params.limit, "page_offset": params.offset}
    # One trip into SQLAlchemy's greenlet for the connection, the statement and its rows.
    rows = await session.run_sync(_page_rows, _paged(stmt), values, _plain_columns(stmt))
    if rows:
        total = int(rows[0][-1])
    elif params.offset:  # past the end: the window count came back with no row
        count = select(func.count()).select_from(stmt.order_by(None).subquery())
        total = await session.scalar(count, binds or {})
    else:
        total = 0
    if _selects_one_entity(stmt):
        return [row[0] for row in rows], int(total or 0)
    return rows, int(total or 0)


def _page_rows(session: Session, stmt: Select, values: dict[str, Any], plain: bool) -> Any:
    if plain:  # Core runs these without the ORM's per-statement work
        return session.connection().execute(stmt, values).all()
    return session.execute(stmt, values).all()


_paged_statements: WeakKeyDictionary[Select, Select] = WeakKeyDictionary()
_one_entity: WeakKeyDictionary[Select, bool] = WeakKeyDictionary()


def _paged(stmt: Select) -> Select:
    paged = _paged_statements.get(stmt)
    if paged is None:
        paged = (
            stmt.add_columns(func.count().over().label("_total"))
            .limit(bindparam("page_limit"))
            .offset(bindparam("page_offset"))
        )
        _paged_statements[stmt] = paged
    return paged


_plain: WeakKeyDictionary[Select, bool] = WeakKeyDictionary()


def _plain_columns(stmt: Select) -> bool:
    plain = _plain.get(stmt)
    if plain is None:
        plain = _plain[stmt] = all(d["entity"] is None for d in stmt.column_descriptions)
    return plain


def _selects_one_entity(stmt: Select) -> bool:
    one = _one_entity.get(stmt)
    if one is None:
        one = _one_entity[stmt] = len(stmt.column_descriptions) == 1
    return one
