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
