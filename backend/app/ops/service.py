"""Readiness checks: each part named with its state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import anyio
from sqlalchemy import text

from app.core.logging import get_logger
from app.core.runtime import Runtime

log = get_logger(__name__)
CHECK_TIMEOUT = 3.0


async def _database(runtime: Runtime) -> None:
    async with runtime.read() as session:
        await session.execute(text("SELECT 1"))


async def _broker(runtime: Runtime) -> None:
    def connect() -> None:
        with runtime.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)

    await anyio.to_thread.run_sync(connect, abandon_on_cancel=True)


async def _cache(runtime: Runtime) -> None:
    await runtime.rate_limiter.ping()


async def _vector_store(runtime: Runtime) -> None:
    await runtime.agent.vector_store.ping()


CHECKS: dict[str, Callable[[Runtime], Awaitable[None]]] = {
    "database": _database,
    "broker": _broker,
    "cache": _cache,
    "vector_store": _vector_store,
}


async def readiness(runtime: Runtime) -> dict[str, str]:
    async def run(name: str, check: Callable[[Runtime], Awaitable[None]]) -> tuple[str, str]:
        try:
            await asyncio.wait_for(check(runtime), CHECK_TIMEOUT + 1)
            return name, "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason goes to the log
            log.warning("readiness_check_failed", part=name, error=f"{type(exc).__name__}: {exc}")
            return name, "down"

    results = await asyncio.gather(*(run(n, c) for n, c in CHECKS.items()))
    return dict(results)
