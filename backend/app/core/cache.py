"""A small per-process cache of hot rows (who a token or an API key belongs to).

Entries live `ttl` seconds at most. A transaction that changes a cached row names its key
with `forget_after_commit`; `Runtime.transaction()` drops it from this process's cache once
the commit succeeded. Other API processes see the change when their entry expires, so `ttl`
bounds how stale any of them can be.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "forget_after_commit"


class TTLCache:
    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return item[1]

    def set(self, key: Hashable, value: Any) -> None:
        if self.ttl <= 0:
            return
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def forget(self, keys: list[Hashable]) -> None:
        for key in keys:
            self._items.pop(key, None)


def forget_after_commit(session: AsyncSession, *keys: Hashable) -> None:
    session.info.setdefault(_KEY, []).extend(keys)


def take_forgotten(session: AsyncSession) -> list[Hashable]:
    return session.info.pop(_KEY, [])
