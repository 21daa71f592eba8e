"""The dashboard's browser session: the refresh token in a cookie the page cannot read.

`HttpOnly` (scripts can't read it), `SameSite=Strict` (other sites' requests don't carry it),
`Secure` when the request came over HTTPS, and scoped to `/api/v1/auth/session` so it is sent
to the three session endpoints and nowhere else. Those endpoints also refuse requests that
are not the dashboard's own (`csrf_guard`): a custom header a cross-site form can't send, and
no foreign `Origin` or cross-site `Sec-Fetch-Site`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from app.core.config import Settings
from app.users.exceptions import CsrfRejected

COOKIE = "cs_refresh"
PATH = "/api/v1/auth/session"
CSRF_HEADER = "x-requested-with"


def set_refresh_cookie(
    response: Response, request: Request, token: str, settings: Settings
) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.refresh_token_days * 86400,
        path=PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_refresh_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )


def cleared_cookie_header(request: Request) -> dict[str, str]:
    """Set-Cookie for an error response (a refused refresh ends the browser's session)."""
    response = Response()
    clear_refresh_cookie(response, request)
    return {"Set-Cookie": response.headers["set-cookie"]}


async def csrf_guard(request: Request) -> None:
    if not request.headers.get(CSRF_HEADER):
        raise CsrfRejected(details={"missing_header": "X-Requested-With"})
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        raise CsrfRejected()
    origin = request.headers.get("origin")
    if origin is not None:
        settings: Settings = request.app.state.runtime.settings
        base = urlsplit(settings.public_base_url)
        own = {f"{request.url.scheme}://{request.headers.get('host', '')}",
               f"{base.scheme}://{base.netloc}"}  # fmt: skip
        if origin.rstrip("/").lower() not in {o.lower() for o in own}:
            raise CsrfRejected()
