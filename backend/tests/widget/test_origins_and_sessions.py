"""Deny by default: only the bot's allowed sites (and the app's own pages) get an answer and
CORS headers; visitor sessions are bound to one bot, its current key and one site."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.conftest import SECRET
from tests.widget.conftest import API, SITE, new_session, site

FOREIGN = ["https://evil.example.com", "https://shop.example.com.evil.test",
           "http://shop.example.com", "https://shop.example.com:8443", "null"]  # fmt: skip


@pytest.mark.parametrize("origin", FOREIGN)
async def test_a_foreign_site_is_refused_without_cors_headers(client, shop, origin):
    for method, path in (("GET", "/config"), ("POST", "/sessions")):
        r = await client.request(method, f"{shop.base}{path}", json={}, headers=site(origin))
        assert r.status_code == 403, (origin, r.text)
        assert r.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in r.headers
    r = await client.options(
        f"{shop.base}/messages",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


async def test_no_origin_is_refused_unless_the_browser_says_same_origin(client, shop):
    r = await client.get(f"{shop.base}/config")  # curl, a server, a script: no Origin
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    r = await client.get(f"{shop.base}/config", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    same = {"Sec-Fetch-Site": "same-origin"}
    r = await client.get(f"{shop.base}/config", headers={**same, "Host": "localhost:8000"})
    assert r.status_code == 200  # the preview page, on the app's own origin (PUBLIC_BASE_URL)
    r = await client.get(f"{shop.base}/config", headers={**same, "Host": "127.0.0.1:5123"})
    assert r.status_code == 200  # `make run` reached on loopback, any port


async def test_a_rebound_domain_is_not_the_apps_own_origin(client, shop):
    """DNS rebinding: evil.test resolves to the server, so its page's requests carry its own
    name as Host and as Origin. Only loopback hosts count as the app's own besides
    PUBLIC_BASE_URL."""
    rebound = {"Host": "evil.test", "Origin": "http://evil.test"}
    r = await client.get(f"{shop.base}/config", headers=rebound)
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    r = await client.get(f"{shop.base}/config",
                         headers={"Host": "evil.test", "Sec-Fetch-Site": "same-origin"})  # fmt: skip
    assert r.status_code == 403
    r = await client.get(f"{shop.base}/config",
                         headers={"Host": "localhost.evil.test", "Origin": "http://localhost.evil.test"})  # fmt: skip
    assert r.status_code == 403


async def test_the_allowed_site_gets_cors_headers_and_preflights(client, shop):
    r = await client.get(f"{shop.base}/config", headers=site())
    assert r.headers["access-control-allow-origin"] == SITE
    assert r.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in r.headers
    assert "Retry-After" in r.headers["access-control-expose-headers"]
    r = await client.options(
        f"{shop.base}/messages",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == SITE
    assert "authorization" in r.headers["access-control-allow-headers"]
    # The app's own origin (PUBLIC_BASE_URL) is always allowed: the preview page.
    r = await client.get(f"{shop.base}/config", headers=site("http://localhost:8000"))
    assert r.status_code == 200


async def test_an_empty_allowlist_accepts_only_the_apps_own_pages(client, shop):
    r = await client.patch(f"{API}/bots/{shop.bot['id']}", json={"allowed_origins": []},
                           headers=shop.owner)  # fmt: skip
    assert r.status_code == 200
    r = await client.get(f"{shop.base}/config", headers=site())
    assert r.status_code == 403  # the change applies at once
    r = await client.get(f"{shop.base}/config", headers=site("http://localhost:8000"))
    assert r.status_code == 200


async def test_unknown_keys_are_404(client, shop):
    r = await client.get(f"{API}/widget/pk_unknown/config", headers=site())
    assert r.status_code == 404 and r.json()["error"]["code"] == "bot_not_found"
    r = await client.get(f"{API}/widget/{'x' * 300}/config", headers=site())
    assert r.status_code == 404


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def test_sessions_are_refused_elsewhere(client, shop, make_user):
    session = await new_session(client, shop)
    token = session["session_token"]
    messages = f"{shop.base}/messages"
    assert (await client.get(messages, headers=site(token=token))).status_code == 200

    # Another allowed site of the same bot: the token belongs to the first one.
    await client.patch(f"{API}/bots/{shop.bot['id']}",
                       json={"allowed_origins": [SITE, "https://blog.example.com"]},
                       headers=shop.owner)  # fmt: skip
    r = await client.get(messages, headers=site("https://blog.example.com", token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_session"

    # Another bot.
    other = (await client.post(f"{API}/bots", json={"name": "Other", "allowed_origins": [SITE]},
                               headers=shop.owner)).json()  # fmt: skip
    r = await client.get(f"{API}/widget/{other['public_key']}/messages", headers=site(token=token))
    assert r.status_code == 401

    # Forged, tampered, an owner's access token, none at all.
    forged = jwt.encode(
        {**_claims(token), "sub": "v_someone_else"},
        "a guessed key of thirty-two bytes!",
        algorithm="HS256",
    )
    owner_token = shop.owner["Authorization"].split(" ", 1)[1]
    for bad in (forged, token[:-3] + "abc", owner_token, "nonsense"):
        r = await client.get(messages, headers=site(token=bad))
        assert r.status_code == 401, bad
    assert (await client.get(messages, headers=site())).status_code == 401

    # Rotating the public key ends every session, and the old key answers 404.
    r = await client.post(f"{API}/bots/{shop.bot['id']}/rotate-public-key", headers=shop.owner)
    new_key = r.json()["public_key"]
    assert (await client.get(messages, headers=site(token=token))).status_code == 404
    r = await client.get(f"{API}/widget/{new_key}/messages", headers=site(token=token))
    assert r.status_code == 401


async def test_expired_sessions_are_refused_and_renew_within_the_window(client, shop, settings):
    session = await new_session(client, shop)
    from app.widget import tokens

    claims = _claims(session["session_token"])
    key = tokens._signing_key(settings)
    assert settings.resolved_secret_key == SECRET

    def signed(age_hours: float) -> str:
        now = int(time.time() - age_hours * 3600)
        return jwt.encode({**claims, "iat": now, "exp": now + 24 * 3600}, key, algorithm="HS256")

    recent, ancient = signed(30), signed(24 + 8 * 24)
    r = await client.get(f"{shop.base}/messages", headers=site(token=recent))
    assert r.status_code == 401  # expired six hours ago
    renewed = await new_session(client, shop, session_token=recent)
    assert renewed["visitor_id"] == session["visitor_id"]
    stale = await new_session(client, shop, session_token=ancient)
    assert stale["visitor_id"] != session["visitor_id"]  # past the window: a new visitor


async def test_a_switched_off_bot_answers_409_everywhere(client, shop):
    session = await new_session(client, shop)
    await client.patch(f"{API}/bots/{shop.bot['id']}", json={"is_active": False},
                       headers=shop.owner)  # fmt: skip
    headers = site(token=session["session_token"])
    for method, path in (("GET", "/config"), ("POST", "/sessions"), ("GET", "/messages"),
                         ("POST", "/messages")):  # fmt: skip
        body = {"content": "hi"} if path == "/messages" else {}
        r = await client.request(method, f"{shop.base}{path}", json=body, headers=headers)
        assert r.status_code == 409, (path, r.text)
        assert r.json()["error"]["code"] == "bot_inactive"
        assert r.headers["access-control-allow-origin"] == SITE  # readable by the widget
