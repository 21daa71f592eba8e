"""Prometheus metrics. HTTP metrics are labelled by route template, never by raw path."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.core.logging import get_logger

log = get_logger(__name__)

HTTP_REQUESTS = Counter(
    "chatsphere_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "chatsphere_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# Gauges are set from the database when scraped; with several API processes
# (PROMETHEUS_MULTIPROC_DIR set) the most recent value wins.
DOCUMENTS_BY_STATUS = Gauge(
    "chatsphere_documents", "Documents by status", ["status"], multiprocess_mode="mostrecent"
)
QUEUE_DEPTH = Gauge(
    "chatsphere_queue_depth",
    "Messages waiting in the task queue",
    ["queue"],
    multiprocess_mode="mostrecent",
)
OWNER_QUEUE_DEPTH = Gauge(
    "chatsphere_owner_queue_depth",
    "Documents queued or processing, per owner with any",
    ["owner"],
    multiprocess_mode="mostrecent",
)
LLM_TOKENS = Counter("chatsphere_llm_tokens_total", "LLM tokens", ["provider", "kind"])
LLM_ERRORS = Counter("chatsphere_llm_errors_total", "LLM errors", ["provider", "code"])


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    template = _route_template(scope)
    method = scope["method"]
    HTTP_REQUESTS.labels(method, template, str(status)).inc()
    HTTP_LATENCY.labels(method, template).observe(seconds)


# Gauges read from the database or the broker are refreshed when Prometheus scrapes,
# so every API process reports the same numbers. Hooks get the app's Runtime.
ScrapeHook = Callable[[Any], Awaitable[None]]
_scrape_hooks: list[ScrapeHook] = []
SCRAPE_HOOK_TIMEOUT = 5.0


def on_scrape(hook: ScrapeHook) -> ScrapeHook:
    _scrape_hooks.append(hook)
    return hook


def _route_template(scope: Scope) -> str:
    """The matched route's full path template, e.g. /api/v1/bots/{bot_id}."""
    # FastAPI resolves included routers lazily; the effective context knows the full prefix.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if template is None:
        template = getattr(scope.get("route"), "path_format", None)
    return template or "unmatched"


async def metrics_response(request: Request) -> Response:
    for hook in _scrape_hooks:
        try:
            await asyncio.wait_for(hook(request.app.state.runtime), SCRAPE_HOOK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - a stale gauge beats a failed scrape
            log.warning("metrics_refresh_failed", hook=hook.__name__, error=repr(exc))
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    """Every API process's metrics when they share PROMETHEUS_MULTIPROC_DIR, else this one's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
