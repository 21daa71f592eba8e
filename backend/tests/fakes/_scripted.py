"""Scripted failures shared by the fake provider servers."""

from __future__ import annotations

import threading

from tests.fakes.server import FakeResponse


class FailureScript:
    """Answers with an error status for the next N requests, or for all of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._status = 500
        self._forever = False

    def fail_next(self, times: int, status: int = 429) -> None:
        with self._lock:
            self._remaining, self._status, self._forever = times, status, False

    def fail_always(self, status: int = 500) -> None:
        with self._lock:
            self._status, self._forever = status, True

    def recover(self) -> None:
        with self._lock:
            self._remaining, self._forever = 0, False

    def next_failure(self) -> FakeResponse | None:
        with self._lock:
            if not self._forever and self._remaining <= 0:
                return None
            if not self._forever:
                self._remaining -= 1
            status = self._status
        return FakeResponse.json({"error": {"code": status, "message": "scripted failure"}}, status)
