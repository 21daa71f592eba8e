"""Time and size guards shared by the parsers, so no input can hang or exhaust a worker."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from agent.errors import ParseError
from agent.parsing.sandbox import time_reason

# One page of extracted text beyond this is garbage (e.g. a glyph-per-operator stream);
# keeping it would only slow chunking and embedding down.
MAX_PAGE_CHARS = 200_000

_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class Deadline:
    """A wall-clock budget for parsing one document."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise ParseError(time_reason(self.seconds))


class StepTimeout(Exception):
    """Raised inside a guarded step that ran past its budget."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` when we can, i.e. on the main thread of a Unix process.

    Celery's prefork workers run tasks on the main thread, so this catches a pathological page
    there. Elsewhere (threads, Windows) the caller's `Deadline` checks between steps still apply.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise StepTimeout

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise ParseError(f"file exceeds the {max_bytes / (1024 * 1024):g} MB limit")


def clean_text(text: str) -> str:
    """Normalise whitespace and drop control characters, keeping paragraph breaks."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


NO_TEXT = "file has no extractable text (scanned images need OCR)"
