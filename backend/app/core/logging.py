"""Structured JSON logs (structlog) carrying the request id, for app, uvicorn and celery alike.

Our own loggers are structlog's native ones: a level below the threshold costs a comparison,
and a line is rendered and written without the standard library's LogRecord machinery (an
access log line costs a few microseconds, not a tenth of a small request). Libraries
(uvicorn, celery, SQLAlchemy) log through `logging`; their records get the same processors
and the same rendering.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
from collections.abc import Callable
from typing import Any

import orjson
import structlog


def _logger_key(
    _: object, __: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # `logger` is a reserved argument of get_logger(); our loggers carry their name as
    # `logger_name`, and lines say `logger` like the standard library's do.
    if "logger_name" in event:
        event["logger"] = event.pop("logger_name")
    return event


_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    threshold = logging.getLevelNamesMapping()[level.upper()]
    # Ours render to bytes with orjson, written straight to stderr.
    fast_renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=orjson.dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            _logger_key,
            structlog.processors.format_exc_info,
            fast_renderer,
        ],
        logger_factory=_logger_factory(json),
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED_PROCESSORS, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    # uvicorn's access log duplicates ours (which carries the request id).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _logger_factory(json: bool) -> Callable[..., Any]:
    """Access-log lines (`get_logger(name, batched=True)`) are written once per turn of the
    event loop; every other line at once."""
    streams = {batched: _Stderr(binary=json, batched=batched) for batched in (False, True)}
    logger_class = structlog.BytesLogger if json else structlog.WriteLogger

    def factory(*args: Any) -> Any:
        return logger_class(streams[bool(args and args[0] == _BATCHED)])  # type: ignore[arg-type]

    return factory


_BATCHED = "batched"


class _Stderr:
    """Whatever `sys.stderr` is when a line is written (test runners swap it).

    A batched stream, on an event loop, writes its lines once per turn of the loop rather
    than one system call each: under load many requests finish in one turn, and their
    access-log lines go out together, at most one turn late (and at exit). Elsewhere
    (threads, workers, start-up), and for every other line, each is written at once.
    """

    def __init__(self, *, binary: bool, batched: bool = False) -> None:
        self.binary = binary
        self.batched = batched
        self._pending: list[str | bytes] = []
        self._scheduled = False
        if batched:
            atexit.register(self._drain)

    def write(self, data: str | bytes) -> None:
        if not self.batched:
            self._write(data)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write(data)
            return
        self._pending.append(data)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._drain)

    def flush(self) -> None:
        if not self._scheduled:
            sys.stderr.flush()

    def _write(self, data: str | bytes) -> None:
        stream = sys.stderr.buffer if self.binary else sys.stderr
        stream.write(data)  # type: ignore[arg-type]
        stream.flush()

    def _drain(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        if pending:
            self._write(b"".join(pending) if self.binary else "".join(pending))  # type: ignore[arg-type]


def get_logger(name: str, *, batched: bool = False) -> structlog.typing.FilteringBoundLogger:
    """A logger; `batched` ones (the access log) write once per turn of the event loop."""
    if batched:
        return structlog.get_logger(_BATCHED, logger_name=name)
    return structlog.get_logger(logger_name=name)
