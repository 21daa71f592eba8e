"""Structured JSON logs (structlog) carrying the request id, for app, uvicorn and celery alike.

Our own loggers are structlog's native ones: a level below the threshold costs a comparison,
and a line is rendered and written without the standard library's LogRecord machinery (an
access log line costs a few microseconds, not a tenth of a small request). Libraries
(uvicorn, celery, SQLAlchemy) log through `logging`; their records get the same processors
and the same rendering.
"""

from __future__ import annotations

import logging
import sys

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
        logger_factory=structlog.BytesLoggerFactory(_Stderr(binary=True))
        if json
        else structlog.WriteLoggerFactory(_Stderr(binary=False)),
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


class _Stderr:
    """Whatever `sys.stderr` is when a line is written (test runners swap it)."""

    def __init__(self, *, binary: bool) -> None:
        self.binary = binary

    def write(self, data: str | bytes) -> None:
        stream = sys.stderr.buffer if self.binary else sys.stderr
        stream.write(data)  # type: ignore[arg-type]

    def flush(self) -> None:
        sys.stderr.flush()


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(logger_name=name)
