from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from app.users.models import User
from tests.conftest import SECRET

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
PASSWORD = "correct horse battery"


async def register(client, email="ada@example.com", password=PASSWORD, full_name="Ada"):
    return await client.post(
        REGISTER, json={"email": email, "password": password, "full_name": full_name}
    )


async def login(client, email="ada@example.com", password=PASSWORD):
    return await client.post(LOGIN, json={"email": email, "password": password})


async def test_register_returns_user_without_secrets(client, db):
    r = await register(client, email="Ada@Example.COM")
    assert r.status_code == 201
    body = r.json()
    assert body["email"] == "ada@example.com"
    assert body["full_name"] == "Ada"
    assert "password" not in body and "password_hash" not in body
    uuid.UUID(body["id"])
    stored = await db.scalar(select(User).where(User.email == "ada@example.com"))
    assert stored.password_hash.startswith("$argon2")
    assert PASSWORD not in stored.password_hash


async def test_email_is_unique_regardless_of_case(client):
    assert (await register(client, email="ada@example.com")).status_code == 201
    r = await register(client, email="ADA@example.com")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize("password", ["short", "x" * 129])
async def test_password_length_is_enforced(client, password):
    r = await register(client, password=password)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["errors"][0]["loc"] == ["body", "password"]


async def test_password_at_the_limits_is_accepted(client):
    assert (await register(client, email="a@example.com", password="x" * 8)).status_code == 201
    assert (await register(client, email="b@example.com", password="x" * 128)).status_code == 201


async def test_invalid_email_is_a_field_error(client):
    r = await register(client, email="not-an-email")
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["body", "email"]


async def test_login_and_me(client):
    await register(client)
    r = await login(client, email="ADA@example.com")
    assert r.status_code == 200
    tokens = r.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] > 0
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"


async def test_wrong_password_and_unknown_email_look_the_same(client):
    await register(client)
    wrong = await login(client, password="wrong password!")
    unknown = await login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "invalid_credentials"


async def test_oauth2_token_form_for_docs(client):
    await register(client)
    r = await client.post(
        "/api/v1/auth/token", data={"username": "ada@example.com", "password": PASSWORD}
    )
    assert r.status_code == 200
    assert r.json()["access_token"]


async def test_me_requires_authentication(client):
    r = await client.get("/api/v1/users/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
    assert r.headers["WWW-Authenticate"] == "Bearer"


def _token(**overrides):
    now = datetime.now(UTC)
    payload = {
        "sub": str(uuid.uuid4()),
        "type": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    payload.update(overrides)
    return payload


async def _user_id(client):
    await register(client)
    tokens = (await login(client)).json()
    return jwt.decode(tokens["access_token"], SECRET, algorithms=["HS256"])["sub"]


async def _me_with(client, token):
    return await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})


async def test_token_with_bad_signature_is_refused(client):
    sub = await _user_id(client)
    token = jwt.encode(_token(sub=sub), "some-other-secret-" + "y" * 32, algorithm="HS256")
    r = await _me_with(client, token)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"


async def test_token_with_alg_none_is_refused(client):
    sub = await _user_id(client)
    token = jwt.encode(_token(sub=sub), None, algorithm="none")
    assert (await _me_with(client, token)).status_code == 401


async def test_expired_token_is_refused(client):
    sub = await _user_id(client)
    past = datetime.now(UTC) - timedelta(minutes=10)
    token = jwt.encode(
        _token(sub=sub, iat=past, exp=past + timedelta(minutes=1)), SECRET, algorithm="HS256"
    )
    assert (await _me_with(client, token)).status_code == 401


async def test_tampered_payload_is_refused(client):
    await register(client)
    token = (await login(client)).json()["access_token"]
    header, payload, signature = token.split(".")
    other = jwt.encode(_token(), SECRET, algorithm="HS256").split(".")[1]
    assert (await _me_with(client, f"{header}.{other}.{signature}")).status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    await register(client)
    first = (await login(client)).json()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]

    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    # The whole family is revoked: the newest token of that session stops working too.
    after = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert after.status_code == 401
    # Which access token the thief holds is unknown: every one issued before ends too.
    for pair in (first, second):
        stale = {"Authorization": f"Bearer {pair['access_token']}"}
        assert (await client.get("/api/v1/users/me", headers=stale)).status_code == 401
    # Another session (another login) is unaffected.
    other = (await login(client)).json()
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 200


async def test_unknown_refresh_token_is_refused(client):
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": "rt_nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"


async def test_update_me(client, owner):
    r = await client.patch("/api/v1/users/me", json={"full_name": "Grace"}, headers=owner)
    assert r.status_code == 200 and r.json()["full_name"] == "Grace"
    r = await client.patch("/api/v1/users/me", json={"email": "x@example.com"}, headers=owner)
    assert r.status_code == 422


async def test_password_change_needs_current_password_and_ends_sessions(client):
    await register(client)
    tokens = (await login(client)).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/v1/users/me", headers=auth)).status_code == 200
    r = await client.patch("/api/v1/users/me", json={"password": "new password 1"}, headers=auth)
    assert r.status_code == 401
    r = await client.patch(
        "/api/v1/users/me",
        json={"password": "new password 1", "current_password": PASSWORD},
        headers=auth,
    )
    assert r.status_code == 200
    # The access token used for the change, cached a moment ago, ends at once.
    assert (await client.get("/api/v1/users/me", headers=auth)).status_code == 401
    assert (await login(client)).status_code == 401
    assert (await login(client, password="new password 1")).status_code == 200
    old = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert old.status_code == 401


async def test_login_is_rate_limited_per_email_with_retry_after(client, runtime):
    await register(client)
    limit = int(runtime.settings.login_rate_limit.split("/")[0])
    for _ in range(limit):
        await login(client, password="wrong password!")
    r = await login(client)  # even the right password is refused while limited
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60


async def test_login_rate_limit_is_per_ip_too(client, runtime):
    limit = int(runtime.settings.login_rate_limit.split("/")[0])
    for i in range(limit):
        await login(client, email=f"n{i}@example.com")
    r = await login(client, email="fresh@example.com")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1


async def test_token_form_has_the_same_limits_as_json_login(client):
    r = await client.post(
        "/api/v1/auth/token", data={"username": "ada@example.com", "password": "x" * 5000}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
