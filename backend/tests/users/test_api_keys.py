from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from app.core.security import hash_secret
from app.users.models import ApiKey, User


async def test_key_is_shown_once_and_stored_as_hash(client, owner, db):
    r = await client.post("/api/v1/api-keys", json={"name": "ci"}, headers=owner)
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith("cs_") and created["prefix"] == key[:10]

    listed = (await client.get("/api/v1/api-keys", headers=owner)).json()
    assert listed["total"] == 1
    assert "key" not in listed["items"][0]
    assert listed["items"][0]["prefix"] == created["prefix"]

    stored = await db.scalar(select(ApiKey))
    assert stored.key_hash != key and key not in stored.key_hash


async def test_api_key_works_where_a_bearer_token_does(client, owner):
    key = (await client.post("/api/v1/api-keys", json={"name": "ci"}, headers=owner)).json()["key"]
    me = await client.get("/api/v1/users/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    r = await client.post("/api/v1/bots", json={"name": "From a key"}, headers={"X-API-Key": key})
    assert r.status_code == 201


async def test_revoked_key_stops_working(client, owner):
    created = (await client.post("/api/v1/api-keys", json={"name": "ci"}, headers=owner)).json()
    used = await client.get("/api/v1/users/me", headers={"X-API-Key": created["key"]})
    assert used.status_code == 200  # now cached: the revocation must reach past the cache
    r = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=owner)
    assert r.status_code == 204
    r = await client.get("/api/v1/users/me", headers={"X-API-Key": created["key"]})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"
    assert (await client.get("/api/v1/api-keys", headers=owner)).json()["total"] == 0


async def test_wrong_key_is_refused(client):
    r = await client.get("/api/v1/users/me", headers={"X-API-Key": "cs_not-a-real-key"})
    assert r.status_code == 401


async def test_deactivated_users_keys_and_tokens_stop_working(client, owner, db, runtime):
    key = (await client.post("/api/v1/api-keys", json={"name": "ci"}, headers=owner)).json()["key"]
    for headers in ({"X-API-Key": key}, owner):  # both owners are now in the auth cache
        assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    # An operator switches the account off in the database: no process is told, so each
    # sees it when its cached entry expires (AUTH_CACHE_SECONDS).
    runtime.cache.ttl = 0.2
    await db.execute(update(User).values(is_active=False))
    await db.commit()
    await asyncio.sleep(runtime.settings.auth_cache_seconds + 0.05)
    for headers in ({"X-API-Key": key}, owner):
        r = await client.get("/api/v1/users/me", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "inactive_user"


async def test_another_users_key_cannot_be_revoked(client, make_user):
    alice, bob = await make_user(), await make_user()
    key = (await client.post("/api/v1/api-keys", json={"name": "a"}, headers=alice)).json()
    r = await client.delete(f"/api/v1/api-keys/{key['id']}", headers=bob)
    assert r.status_code == 404
    assert (
        await client.get("/api/v1/users/me", headers={"X-API-Key": key["key"]})
    ).status_code == 200


async def test_key_name_is_validated(client, owner):
    r = await client.post("/api/v1/api-keys", json={"name": ""}, headers=owner)
    assert r.status_code == 422


async def test_last_use_is_recorded_at_most_once_a_minute(client, owner, db, runtime):
    created = (await client.post("/api/v1/api-keys", json={"name": "ci"}, headers=owner)).json()
    key = {"X-API-Key": created["key"]}
    assert (await client.get("/api/v1/users/me", headers=key)).status_code == 200
    first = (await client.get("/api/v1/api-keys", headers=owner)).json()["items"][0]
    assert first["last_used_at"] is not None
    runtime.cache.forget([("api-key", hash_secret(created["key"]))])  # as another process
    for _ in range(3):
        assert (await client.get("/api/v1/users/me", headers=key)).status_code == 200
    again = (await client.get("/api/v1/api-keys", headers=owner)).json()["items"][0]
    assert again["last_used_at"] == first["last_used_at"]
