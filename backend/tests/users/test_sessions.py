"""The dashboard's browser session: the refresh token in an HttpOnly, SameSite=Strict cookie
scoped to the session endpoints, rotation with reuse detection, sign-out, and CSRF refusals."""

from __future__ import annotations

import pytest

SESSION = "/api/v1/auth/session"
PAGE = {"X-Requested-With": "chatsphere", "Origin": "http://testserver"}


@pytest.fixture
async def account(client):
    body = {"email": "ada@example.com", "password": "correct horse battery", "full_name": "Ada"}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    return {"email": body["email"], "password": body["password"]}


async def test_sign_in_sets_a_cookie_the_page_cannot_read(client, account):
    r = await client.post(SESSION, json=account, headers=PAGE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}  # no refresh token
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("cs_refresh=cs_rt_") or cookie.startswith("cs_refresh=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/api/v1/auth/session", "Max-Age="):
        assert attribute.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # plain http here; see the https test
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["email"] == "ada@example.com"


async def test_over_https_the_cookie_is_secure(app, account):
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://dash.example") as c:
        r = await c.post(SESSION, json=account,
                         headers={"X-Requested-With": "x", "Origin": "https://dash.example"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert "secure" in r.headers["set-cookie"].lower()


async def test_refresh_rotates_and_a_reused_cookie_ends_the_session(client, account):
    r = await client.post(SESSION, json=account, headers=PAGE)
    first = client.cookies.get("cs_refresh")
    r = await client.post(f"{SESSION}/refresh", headers=PAGE)
    assert r.status_code == 200, r.text
    second = client.cookies.get("cs_refresh")
    assert second and second != first
    # The old cookie again (a thief's copy): the whole session ends, the cookie is cleared.
    client.cookies.set("cs_refresh", first, path="/api/v1/auth/session")
    r = await client.post(f"{SESSION}/refresh", headers=PAGE)
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_reused"
    assert 'cs_refresh=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.set("cs_refresh", second, path="/api/v1/auth/session")
    r = await client.post(f"{SESSION}/refresh", headers=PAGE)
    assert r.status_code == 401  # the family is revoked


async def test_sign_out_ends_the_session(client, account):
    await client.post(SESSION, json=account, headers=PAGE)
    token = client.cookies.get("cs_refresh")
    r = await client.delete(SESSION, headers=PAGE)
    assert r.status_code == 204
    assert "max-age=0" in r.headers["set-cookie"].lower()
    client.cookies.set("cs_refresh", token, path="/api/v1/auth/session")
    r = await client.post(f"{SESSION}/refresh", headers=PAGE)
    assert r.status_code == 401
    r = await client.post(f"{SESSION}/refresh", headers=PAGE)  # no cookie at all
    assert r.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a plain form post from anywhere: no custom header
        {"Origin": "http://testserver"},
        {"X-Requested-With": "x", "Origin": "https://evil.example"},
        {"X-Requested-With": "x", "Origin": "null"},
        {"X-Requested-With": "x", "Sec-Fetch-Site": "cross-site"},
        {"X-Requested-With": "x", "Sec-Fetch-Site": "same-site"},
    ],
)
async def test_requests_from_elsewhere_are_refused(client, account, headers):
    for method, path, body in (("POST", SESSION, account), ("POST", f"{SESSION}/refresh", None),
                               ("DELETE", SESSION, None)):  # fmt: skip
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (method, path, headers, r.text)
        assert r.json()["error"]["code"] == "csrf_rejected"
