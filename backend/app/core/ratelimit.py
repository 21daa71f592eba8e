"""Rate limits with the `limits` library: in-process by default, Redis when REDIS_URL is set.

Every limit answers 429 `rate_limited` with `Retry-After`. Responses also say where the
request stands against the tightest limit it met (`RateLimit-Limit`, `RateLimit-Remaining`,
`RateLimit-Reset`, in seconds), recorded on the request's state by `record` and written by
the observability middleware.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from app.core.errors import RateLimited

STATE_KEY = "rate_limit"


def build_storage(redis_url: str | None) -> Storage:
    if redis_url:
        return storage_from_string("async+" + redis_url, implementation="redispy")
    return MemoryStorage()


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


@lru_cache(maxsize=64)
def _rule(rule: str) -> RateLimitItem:
    return parse(rule)


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        # A sliding window approximated from two fixed windows: one counter read and one
        # increment per hit, in memory or in Redis, whatever the limit. It assumes the
        # previous window's hits were spread evenly, so a burst just before a boundary is
        # partly forgotten after it: fine for traffic, not for guesses.
        self._approximate = SlidingWindowCounterRateLimiter(storage)
        # The exact window keeps one timestamp per hit: for the small limits on credentials
        # (logins, sign-ups, current passwords), where every extra guess matters.
        self._exact = MovingWindowRateLimiter(storage)

    async def hit(
        self, rule: str, *identifiers: str, message: str | None = None, exact: bool = False
    ) -> Quota:
        """Count one hit against `rule` (e.g. "10/minute"), or raise 429 with Retry-After.

        `exact` counts every hit of the trailing window, whatever its timing; use it for
        limits on guesses.
        """
        item = _rule(rule)
        limiter = self._exact if exact else self._approximate
        allowed = await limiter.hit(item, *identifiers)
        stats = await limiter.get_window_stats(item, *identifiers)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        quota = Quota(item.amount, max(0, stats.remaining), reset)
        if not allowed:
            raise RateLimited(reset, message, headers=quota.headers())
        return quota

    async def ping(self) -> None:
        if not await self.storage.check():
            raise ConnectionError("rate-limit storage is unreachable")


def record(state: Any, quota: Quota) -> None:
    """Keep the tightest quota a request met, for the response headers."""
    current: Quota | None = getattr(state, STATE_KEY, None)
    if current is None or quota.remaining / quota.limit < current.remaining / current.limit:
        setattr(state, STATE_KEY, quota)
