"""Process-wide resources built once from settings: engine, sessions, AI providers.

The API keeps one on `app.state.runtime`; each Celery worker process builds its own
(with a persistent event loop, since asyncpg connections belong to a loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.ratelimit import RateLimiter, build_storage

if TYPE_CHECKING:
    from agent.factory import AgentProviders

T = TypeVar("T")


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine | None = None,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings.resolved_database_url)
        self.sessionmaker = sessionmaker or create_sessionmaker(self.engine)
        self._owns_engine = engine is None
        self.rate_limiter = RateLimiter(build_storage(settings.redis_url))

    @cached_property
    def agent(self) -> AgentProviders:
        from agent.factory import build_providers

        return build_providers(self.settings.agent, self.engine)

    async def aclose(self) -> None:
        if "agent" in self.__dict__:
            await self.agent.aclose()
        if self._owns_engine:
            await self.engine.dispose()


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# --- Celery worker processes -----------------------------------------------------------

_worker: tuple[asyncio.AbstractEventLoop, Runtime] | None = None


def worker_runtime(settings: Settings | None = None) -> Runtime:
    global _worker
    if _worker is None:
        from app.models import load_all_models

        # A worker imports only task modules; the ORM needs every table to resolve foreign keys.
        load_all_models()
        loop = asyncio.new_event_loop()
        _worker = (loop, Runtime(settings or get_settings()))
    return _worker[1]


def run_in_worker(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `fn(runtime)` on this worker process's event loop."""
    runtime = worker_runtime()
    assert _worker is not None
    return _worker[0].run_until_complete(fn(runtime))


def close_worker_runtime() -> None:
    global _worker
    if _worker is not None:
        loop, runtime = _worker
        loop.run_until_complete(runtime.aclose())
        loop.close()
        _worker = None
