"""`/widget.js`: small, cached, served to any site, and free of HTML parsing and eval."""

from __future__ import annotations

import asyncio
import gzip
import re

from fastapi.sse import ServerSentEvent

from app.core.streaming import with_keepalive
from app.widget.assets import STATIC

BUDGET = 15 * 1024  # gzipped


async def test_the_script_is_gzipped_cached_and_for_every_site(client):
    r = await client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["access-control-allow-origin"] == "*"
    assert "max-age" in r.headers["cache-control"]
    source = (STATIC / "widget.js").read_bytes()
    assert r.content == source  # httpx decompressed it
    etag = r.headers["etag"]
    r = await client.get("/widget.js", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    r = await client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers and r.content == source


def test_the_script_fits_its_budget():
    size = len(gzip.compress((STATIC / "widget.js").read_bytes(), compresslevel=9))
    assert size <= BUDGET, f"widget.js is {size} bytes gzipped, over {BUDGET}"


def test_the_script_never_parses_html_or_evaluates_strings():
    source = (STATIC / "widget.js").read_text()
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                      "eval(", "new Function", "setAttribute(\"on", "createContextualFragment"):  # fmt: skip
        assert forbidden not in code, forbidden


async def test_keepalive_comments_fill_silences_and_closing_closes_the_source():
    closed = asyncio.Event()

    async def slow():
        try:
            yield ServerSentEvent(event="token", data={"delta": "a"})
            await asyncio.sleep(0.35)
            yield ServerSentEvent(event="done", data={})
        finally:
            closed.set()

    seen = [e.comment or e.event async for e in with_keepalive(slow(), every=0.1)]
    assert seen[0] == "token" and seen[-1] == "done"
    assert 2 <= seen.count("keep-alive") <= 4
    stream = with_keepalive(slow(), every=0.1)
    closed.clear()
    assert (await anext(stream)).event == "token"
    await stream.aclose()  # the visitor left mid-answer
    assert closed.is_set()
