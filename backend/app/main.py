"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import include_api
from app.core.config import Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging, get_logger
from app.core.metrics import metrics_response
from app.core.middleware import (
    BodyLimitMiddleware,
    ClientRateLimitMiddleware,
    ObservabilityMiddleware,
)
from app.core.routes import TextRoute
from app.core.runtime import Runtime
from app.dashboard.router import mount_dashboard
from app.users.dependencies import document_security
from app.widget.assets import widget_script
from app.widget.cors import WidgetCORSMiddleware

log = get_logger("chatsphere")

DESCRIPTION = """Self-hostable backend for document-grounded chatbots.

Authenticate with **Authorize**: log in with your email as `username`, or paste an API key.
Every error answers `{"error": {"code", "message", "details", "request_id"}}`."""


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else get_settings())
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for part, mode in settings.modes().items():
            log.info("mode", part=part, mode=mode)
        yield
        if runtime is None:
            await app.state.runtime.aclose()

    settings.prepare_data_dir()
    app = FastAPI(
        title="ChatSphere",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Prometheus (/metrics) and our access log cover this; FastAPI's OpenTelemetry hooks
        # would otherwise look for providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime or Runtime(settings)
    _ = settings.resolved_secret_key  # generate it now, not on the first login

    # Routes added to the app itself get the API's route class too (it opens the session).
    app.router.route_class = TextRoute
    install_error_handlers(app)
    include_api(app)
    document_security(app)
    app.add_route("/metrics", metrics_response, include_in_schema=False)
    mount_dashboard(app)
    app.add_route("/widget.js", widget_script, methods=["GET", "HEAD"], include_in_schema=False)
    if settings.cors_origins:  # none by default: the dashboard is served on the API's origin
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ClientRateLimitMiddleware)
    app.add_middleware(WidgetCORSMiddleware)  # outside the limits: a 429 stays readable
    app.add_middleware(ObservabilityMiddleware, access_log=settings.access_log)
    return app
