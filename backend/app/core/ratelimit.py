"""Rate limits with the `limits` library: in-process by default, Redis when REDIS_URL is set."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.core.errors import RateLimited


def build_storage(redis_url: str | None) -> Storage:
    if redis_url:
        return storage_from_string("async+" + redis_url, implementation="redispy")
    return MemoryStorage()


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, rule: str, *identifiers: str, message: str | None = None) -> None:
        """Count one hit against `rule` (e.g. "10/minute") or raise 429 with Retry-After."""
        item = parse(rule)
        if await self._limiter.hit(item, *identifiers):
            return
        stats = await self._limiter.get_window_stats(item, *identifiers)
        raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())), message)

    async def ping(self) -> None:
        if not await self.storage.check():
            raise ConnectionError("rate-limit storage is unreachable")
