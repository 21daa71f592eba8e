"""Run one parse in a child process, under limits that no input can exceed.

Parsers are large C and Python libraries fed with files from strangers: a zip that inflates
past what it declares, a tree too deep or too wide, a stream that loops. Rather than guess
every such file, each parse runs in a forked child (cheap: it shares the worker's imported
modules) that caps its own address space with RLIMIT_AS, parses, and sends the pages or the
reason back through a pipe. The parent waits until the wall-clock deadline at most, then
kills it. Whatever a file does, the worker slot is free again within the deadline, the
worker's own memory never sees it, and the owner reads which limit the file hit.

Where fork or RLIMIT_AS don't exist (Windows, macOS's unenforced RLIMIT_AS), the parse runs
in-process with only the parsers' own checks.
"""

from __future__ import annotations

import errno
import logging
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.errors import ParseError
from agent.types import ParsedDocument

logger = logging.getLogger(__name__)

_MB = 1024 * 1024
# A parser that logs a warning per broken object can write thousands of lines for one
# file; the first few say what is wrong, the count says the rest.
MAX_LOGGED_WARNINGS = 20
_NOISY_LOGGERS = ("pypdf", "agent.parsing")
# The child reports a crash it caught with this exit status (and no result).
_EXIT_CRASHED = 70


def memory_reason(limit_mb: int) -> str:
    return (
        f"parsing needed more than {limit_mb} MB of memory (PARSE_MEMORY_MB); "
        "the file is too complex or inflates too far"
    )


def time_reason(seconds: float) -> str:
    return (
        f"parsing took longer than {seconds:g} seconds (PARSE_TIMEOUT_SECONDS); "
        "the file is too complex"
    )


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """What one isolated parse gave: the document, or the reason it failed."""

    document: ParsedDocument | None
    error: str | None
    seconds: float
    # Peak resident memory of the child, pages shared with the worker included; None when
    # the parse ran in-process. RLIMIT_AS bounds it by the worker's address space (not its
    # resident part) plus PARSE_MEMORY_MB.
    peak_rss_bytes: int | None = None

    def result(self) -> ParsedDocument:
        if self.document is None:
            raise ParseError(self.error or "the file could not be read")
        return self.document


def isolation_available() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def run_isolated(
    parse: Callable[[], ParsedDocument], *, timeout_seconds: float, memory_mb: int
) -> ParseOutcome:
    """Call `parse` in a child limited to `memory_mb` more memory and `timeout_seconds`."""
    started = time.monotonic()
    if not isolation_available():
        with capped_warnings():
            return _outcome(_call(parse, memory_mb), started)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(parse, write_fd, memory_mb)
    os.close(write_fd)
    try:
        payload, timed_out = _read_until(read_fd, started + timeout_seconds)
    finally:
        os.close(read_fd)
    if timed_out:
        _kill(pid)
    status, peak = _reap(pid)
    if timed_out:
        return ParseOutcome(None, time_reason(timeout_seconds), _since(started), peak)
    if not payload or status != 0:  # nothing, or cut short: killed or crashed mid-write
        return ParseOutcome(None, _crash_reason(status, memory_mb), _since(started), peak)
    document, error = pickle.loads(payload)  # our own child wrote it, whole
    return ParseOutcome(document, error, _since(started), peak)


def _call(parse: Callable[[], ParsedDocument], memory_mb: int) -> tuple:
    """(document, None) or (None, reason): the same in the child and in-process."""
    try:
        return parse(), None
    except MemoryError:
        return None, memory_reason(memory_mb)
    except ParseError as exc:
        return None, memory_reason(memory_mb) if _out_of_memory(exc) else exc.message
    except RecursionError:
        return None, "the file is nested too deeply to read"
    except Exception as exc:  # the same bytes would fail the same way again
        if _out_of_memory(exc):
            return None, memory_reason(memory_mb)
        logger.exception("parser failed")
        return None, f"the file could not be read ({type(exc).__name__})"


# The address-space limit the child set on itself; None in-process.
_limit_bytes: int | None = None


def _child(parse: Callable[[], ParsedDocument], write_fd: int, memory_mb: int) -> None:
    status = _EXIT_CRASHED
    try:
        # The parent handles the worker's signals; the child only parses.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        _die_with_parent()
        _fresh_stderr()
        _limit_memory(memory_mb)
        with capped_warnings():
            result = _call(parse, memory_mb)
        try:
            payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            payload = pickle.dumps((None, memory_reason(memory_mb)))
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
        status = 0
    except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
        pass
    finally:
        os._exit(status)


def _fresh_stderr() -> None:
    """The fork may have caught another thread of the worker inside a write to stderr, its
    lock held for good in this copy: write through a new file object on descriptor 2."""
    fresh = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = fresh
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.stream = fresh


def _die_with_parent() -> None:
    """A worker killed mid-parse takes its parse along (the broker redelivers the task)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _limit_memory(memory_mb: int) -> None:
    """Let the address space grow by `memory_mb` beyond what the worker had mapped."""
    import resource

    global _limit_bytes
    with open("/proc/self/statm", encoding="ascii") as statm:
        mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _limit_bytes = mapped + memory_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (_limit_bytes, _limit_bytes))


def _peak_mapped_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    return 0


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes, or (partial, True) when the deadline passes first."""
    parts: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", True
        try:
            ready, _, _ = select.select([fd], [], [], left)
        except InterruptedError:
            continue
        if not ready:
            continue
        data = os.read(fd, 1 << 20)
        if not data:
            return b"".join(parts), False
        parts.append(data)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> tuple[int | None, int | None]:
    """(wait status, peak RSS in bytes) of the child."""
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler set to ignore)
            return None, None
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        return status, usage.ru_maxrss * 1024  # kilobytes on Linux


def _crash_reason(status: int | None, memory_mb: int) -> str:
    """The child sent no whole result: killed, or a native crash inside a parser."""
    signum = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None
    logger.warning("parse child ended without a result (status %s)", status)
    if signum == signal.SIGKILL:  # the kernel's out-of-memory killer
        return memory_reason(memory_mb)
    if signum:
        how = signal.Signals(signum).name
    elif status is not None:
        how = f"exit code {os.waitstatus_to_exitcode(status)}"
    else:
        how = "reaped elsewhere"
    return f"the parser stopped on this file ({how}); the file may be damaged"


def _out_of_memory(exc: BaseException) -> bool:
    """The parse used up its memory: a MemoryError anywhere in the chain, or a peak address
    space within 5% of the limit (C libraries report failed allocations in their own words:
    libxml2's is "unknown error", which a parser then calls a damaged file)."""
    if _limit_bytes is not None and _peak_mapped_bytes() >= _limit_bytes * 0.95:
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError) or "memory allocation failed" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def _outcome(result: tuple, started: float) -> ParseOutcome:
    document, error = result
    return ParseOutcome(document, error, _since(started))


def _since(started: float) -> float:
    return time.monotonic() - started


class _CappedHandler(logging.Handler):
    """Pass the first warnings on to the loggers' usual handlers and count the rest."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.passed = 0
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.passed < self.limit:
            self.passed += 1
            logging.getLogger().handle(record)
        else:
            self.dropped += 1


class capped_warnings:  # lower case: used like contextlib's managers
    """At most MAX_LOGGED_WARNINGS log lines from the parsers for one file, then a count."""

    def __enter__(self) -> _CappedHandler:
        self.handler = _CappedHandler(MAX_LOGGED_WARNINGS)
        self.saved = []
        for name in _NOISY_LOGGERS:
            target = logging.getLogger(name)
            self.saved.append((target, target.propagate))
            target.addHandler(self.handler)
            target.propagate = False
        return self.handler

    def __exit__(self, *exc_info: object) -> None:
        for target, propagate in self.saved:
            target.removeHandler(self.handler)
            target.propagate = propagate
        if self.handler.dropped:
            logger.warning("parser warnings not shown: %d more for this file", self.handler.dropped)
