"""Which site a widget request comes from, and whether the bot allows it.

Deny by default: a request with a foreign Origin, `Origin: null` (sandboxed frames, files) or
no Origin at all is refused, unless it is the app's own page: its origin (PUBLIC_BASE_URL, or
the loopback host the request was sent to), or a same-origin request that carries no Origin
header (`Sec-Fetch-Site: same-origin`, set by the browser, not by scripts). Origins are
compared exactly (scheme, host and port), lower-cased, so `https://shop.example.com.evil.test`
is not `https://shop.example.com`.

The `Host` header counts as the app's own origin only on loopback (`make run` reached as
127.0.0.1 or localhost on any port). Elsewhere it is PUBLIC_BASE_URL alone: a page on a
domain an attacker points at the server (DNS rebinding) sends its own name as Host and as
Origin, and must not pass for the app's own page.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import Scope


def normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def own_origins(scope: Scope, public_base_url: str) -> set[str]:
    parts = urlsplit(public_base_url)
    own = {normalise(f"{parts.scheme}://{parts.netloc}")}
    host = Headers(scope=scope).get("host")
    if host and _loopback(host):
        own.add(normalise(f"{scope.get('scheme', 'http')}://{host}"))
    return own


def _loopback(host: str) -> bool:
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def request_origin(scope: Scope, public_base_url: str) -> str | None:
    """The site the request comes from, or None when it cannot be told (refused)."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is not None:
        return None if origin.strip() in ("", "null") else normalise(origin)
    host = headers.get("host")
    if headers.get("sec-fetch-site") == "same-origin" and host:
        # What the browser sends as Origin on this page's POSTs: the host it was loaded from.
        return normalise(f"{scope.get('scheme', 'http')}://{host}")
    return None


def allows(allowed_origins: list[str], origin: str | None, own: set[str]) -> bool:
    return origin is not None and (origin in own or origin in allowed_origins)
