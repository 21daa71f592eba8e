"""The one pagination shape: `?limit=&offset=` in, `{items, total, limit, offset}` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
MAX_OFFSET = 2**31 - 1


class PageParams(BaseModel):
    limit: int = 20
    offset: int = 0


def _page_params(
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


async def paginate(session: AsyncSession, stmt: Select, params: PageParams) -> tuple[list, int]:
    """Run `stmt` for one page and count all matching rows."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.scalars(stmt.limit(params.limit).offset(params.offset))).all()
    return list(rows), int(total or 0)
