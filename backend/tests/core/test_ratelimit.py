from __future__ import annotations

import uuid

import pytest

from app.core.errors import RateLimited
from app.core.ratelimit import RateLimiter, build_storage
from tests.conftest import TEST_REDIS_URL


def _storages() -> list:
    redis_marks = [] if TEST_REDIS_URL else [pytest.mark.skip(reason="TEST_REDIS_URL not set")]
    return [
        pytest.param(None, id="memory"),
        pytest.param(TEST_REDIS_URL, id="redis", marks=redis_marks),
    ]


@pytest.mark.parametrize("redis_url", _storages())
async def test_limit_refuses_with_retry_after_and_counts_per_identity(redis_url):
    limiter = RateLimiter(build_storage(redis_url))
    await limiter.ping()
    who = uuid.uuid4().hex
    for _ in range(3):
        await limiter.hit("3/minute", "test", who)
    with pytest.raises(RateLimited) as exc:
        await limiter.hit("3/minute", "test", who)
    assert 1 <= int(exc.value.headers["Retry-After"]) <= 60
    assert exc.value.status_code == 429
    await limiter.hit("3/minute", "test", uuid.uuid4().hex)  # someone else is not limited


async def test_unreachable_redis_fails_the_ping():
    limiter = RateLimiter(build_storage("redis://127.0.0.1:1/0"))
    with pytest.raises(ConnectionError):
        await limiter.ping()


async def test_exact_limit_counts_a_burst_across_a_window_boundary(monkeypatch):
    """Three guesses just before a minute turns and three just after are six in the
    trailing minute: the exact window refuses the fourth, where the approximate one,
    which assumes the previous minute's hits were spread out, lets it through."""
    import time

    clock = [(time.time() // 60 + 1) * 60 - 1.0]  # one second before a minute turns
    monkeypatch.setattr(time, "time", lambda: clock[0])
    limiter = RateLimiter(build_storage(None))
    for exact in (True, False):
        who = uuid.uuid4().hex
        for _ in range(3):
            await limiter.hit("3/minute", "burst", who, exact=exact)
        clock[0] += 2.0  # the next minute, one second in
        if exact:
            with pytest.raises(RateLimited) as exc:
                await limiter.hit("3/minute", "burst", who, exact=True)
            assert 57 <= int(exc.value.headers["Retry-After"]) <= 60
        else:
            await limiter.hit("3/minute", "burst", who)  # the approximation forgets
        clock[0] -= 2.0
