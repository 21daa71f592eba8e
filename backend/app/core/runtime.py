"""Process-wide resources built once from settings, and the unit of work.

The API keeps one Runtime on `app.state.runtime`; each Celery worker process builds its own
(`app.core.worker`). Every database access goes through one of two doors:

- `runtime.transaction()`: commit at the end, then drop the cache entries of changed rows
  and send the jobs queued on the session; on an error, roll back and drop both lists. On SQLite it takes the write lock at its first
  write, never for the reads before it.
- `runtime.read()`: no write lock and no writes. Each statement runs in its own implicit
  read transaction (deferred on SQLite, read-only snapshot on PostgreSQL), with no BEGIN
  or COMMIT round trips; a write through it is refused (`ReadOnlySessionError`).

Request dependencies (`SessionDep`), tasks and both halves of a chat turn use these two.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import jobs
from app.core.cache import TTLCache, take_forgotten
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker, read_engine
from app.core.errors import AppError
from app.core.logging import get_logger
from app.core.ratelimit import RateLimiter, build_storage
from app.core.routes import request_session

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from agent.factory import AgentProviders

log = get_logger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine | None = None,
        bind: AsyncConnection | None = None,
        celery: Celery | None = None,
    ) -> None:
        """`bind` (tests): every session joins this connection's transaction as a savepoint."""
        self.settings = settings
        self.engine = engine or create_engine(
            settings.resolved_database_url, pool_size=settings.db_pool_size
        )
        self._owns_engine = engine is None
        # The agent's stores (local vectors, embedding cache) get a pool of their own: a
        # request that holds a connection while it searches must never wait on its own pool.
        # Its reads (whole vector matrices) are big: on SQLite they stay off the event loop.
        self.agent_engine = engine or create_engine(
            settings.resolved_database_url, pool_size=settings.db_pool_size, inline_reads=False
        )
        self.read_engine = read_engine(self.engine)
        joined: dict[str, Any] = {"join_transaction_mode": "create_savepoint"} if bind else {}
        self.sessionmaker = create_sessionmaker(bind or self.engine, **joined)
        self.read_sessionmaker = create_sessionmaker(
            bind or self.read_engine, read_only=True, **joined
        )
        self._celery = celery
        self.rate_limiter = RateLimiter(build_storage(settings.redis_url))
        self.cache = TTLCache(settings.auth_cache_seconds)

    @cached_property
    def agent(self) -> AgentProviders:
        from agent.factory import build_providers

        return build_providers(
            self.settings.agent,
            engine=self.agent_engine,
            read_engine=read_engine(self.agent_engine),
            redis_url=self.settings.redis_url,
        )

    @cached_property
    def celery(self) -> Celery:
        """The Celery app jobs are sent with."""
        if self._celery is not None:
            return self._celery
        from app.core.celery_app import build_celery

        return build_celery(self.settings)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit, then send the queued jobs; roll back on an error."""
        async with self.sessionmaker() as session:
            try:
                yield session
            except AppError as exc:
                if not exc.commit_on_raise:  # e.g. a revoked token family must persist
                    await _rollback(session)
                    raise
                await self._commit(session)
                raise
            except BaseException:
                await _rollback(session)
                raise
            await self._commit(session)

    async def _commit(self, session: AsyncSession) -> None:
        await session.commit()
        self.cache.forget(take_forgotten(session))
        await self._send(jobs.take(session))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only; it takes no write lock and cannot write."""
        session = self.read_sessionmaker()
        try:
            yield session
        finally:
            # Most authenticated reads hit the auth cache and never touch the database; a
            # session that never began holds nothing, and closing it costs a greenlet trip.
            if session.sync_session.in_transaction():
                with anyio.CancelScope(shield=True):
                    await session.close()

    async def _send(self, pending: list[jobs.Job]) -> None:
        for job in pending:
            try:
                await anyio.to_thread.run_sync(self._send_one, job)
            except Exception:
                log.exception("job_send_failed", job=job.name)

    def _send_one(self, job: jobs.Job) -> None:
        self.celery.send_task(
            job.name.value, args=job.args, kwargs=job.kwargs, countdown=job.countdown
        )

    async def aclose(self) -> None:
        if "agent" in self.__dict__:
            await self.agent.aclose()
        if self._owns_engine:
            await self.engine.dispose()
            await self.agent_engine.dispose()


async def _rollback(session: AsyncSession) -> None:
    jobs.take(session)
    take_forgotten(session)
    with anyio.CancelScope(shield=True):  # a cancelled request still releases its lock
        await session.rollback()


# --- Request dependencies --------------------------------------------------------------


# Dependencies are `async def` even when they do not await: FastAPI runs plain functions in
# a thread pool, a thread hand-off per request for nothing.
async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


# The request's unit of work: `read()` for GET, HEAD and routes marked `reads_only`,
# `transaction()` otherwise. Authentication, ownership dependencies and the route share it
# (one per request). The route class opens it (`app.core.routes.TextRoute`) and ends it when
# the route returns, before the response is sent, so a failed commit is a 500.
SessionDep = Annotated[AsyncSession, Depends(request_session)]
