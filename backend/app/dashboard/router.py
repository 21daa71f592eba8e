"""`/` serves the dashboard page and `/dashboard/*` its static files, under a strict policy:
scripts, styles, connections and frames from this origin only, no inline script, no eval."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import FileResponse, Response

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=_HEADERS, media_type="text/html")


def mount_dashboard(app: FastAPI) -> None:
    app.add_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/dashboard", StaticFiles(directory=STATIC), name="dashboard")
