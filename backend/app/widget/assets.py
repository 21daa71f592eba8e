"""`/widget.js`: read and compressed once per process, served with an ETag."""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"
MAX_AGE = 300  # sites pick up a new version within five minutes


@cache
def script() -> tuple[bytes, bytes, str]:
    """(source, gzipped source, ETag)."""
    source = (STATIC / "widget.js").read_bytes()
    etag = '"' + hashlib.sha256(source).hexdigest()[:20] + '"'
    return source, gzip.compress(source, compresslevel=9, mtime=0), etag


async def widget_script(request: Request) -> Response:
    source, compressed, etag = script()
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Access-Control-Allow-Origin": "*",  # any site may load it; the API decides who may talk
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Vary": "Accept-Encoding",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    media_type = "text/javascript; charset=utf-8"
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            compressed, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"}
        )
    return Response(source, media_type=media_type, headers=headers)
