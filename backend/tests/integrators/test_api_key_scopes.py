"""Scoped API keys: some bots only, some scopes only; managing keys is never implied."""

from __future__ import annotations

import pytest

API = "/api/v1"


async def _bot(client, owner, name: str) -> str:
    r = await client.post(f"{API}/bots", json={"name": name}, headers=owner)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _key(client, owner, **fields) -> dict:
    r = await client.post(f"{API}/api-keys", json={"name": "k", **fields}, headers=owner)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def two_bots(client, owner):
    return await _bot(client, owner, "A"), await _bot(client, owner, "B")


async def test_a_key_limited_to_bot_a_does_not_see_bot_b(client, owner, two_bots):
    bot_a, bot_b = two_bots
    key = await _key(client, owner, bot_ids=[bot_a])
    headers = {"X-API-Key": key["key"]}
    assert key["bot_ids"] == [bot_a]
    assert (await client.get(f"{API}/bots/{bot_a}", headers=headers)).status_code == 200
    for path in (f"/bots/{bot_b}", f"/bots/{bot_b}/documents", f"/bots/{bot_b}/conversations"):
        r = await client.get(API + path, headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "bot_not_found", path
    listed = (await client.get(f"{API}/bots", headers=headers)).json()
    assert [b["id"] for b in listed["items"]] == [bot_a] and listed["total"] == 1
    r = await client.post(f"{API}/bots", json={"name": "C"}, headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "bots_out_of_reach"


async def test_conversations_of_another_bot_are_out_of_reach(client, owner, two_bots):
    bot_a, bot_b = two_bots
    conversation = (
        await client.post(f"{API}/bots/{bot_b}/conversations", json={}, headers=owner)
    ).json()
    headers = {"X-API-Key": (await _key(client, owner, bot_ids=[bot_a]))["key"]}
    r = await client.get(f"{API}/conversations/{conversation['id']}", headers=headers)
    assert r.status_code == 404


async def test_scopes_limit_what_a_key_may_do(client, owner, two_bots):
    bot_a, _ = two_bots
    reader = {"X-API-Key": (await _key(client, owner, scopes=["read"]))["key"]}
    assert (await client.get(f"{API}/bots", headers=reader)).status_code == 200
    r = await client.patch(f"{API}/bots/{bot_a}", json={"name": "X"}, headers=reader)
    assert r.status_code == 403
    assert r.json()["error"] == {
        **r.json()["error"],
        "code": "insufficient_scope",
        "details": {"required_scope": "write"},
    }
    r = await client.post(f"{API}/bots/{bot_a}/conversations", json={}, headers=reader)
    assert r.status_code == 403 and r.json()["error"]["details"]["required_scope"] == "chat"
    chatter = {"X-API-Key": (await _key(client, owner, scopes=["chat"]))["key"]}
    assert (
        await client.post(f"{API}/bots/{bot_a}/conversations", json={}, headers=chatter)
    ).status_code == 201
    assert (await client.get(f"{API}/bots", headers=chatter)).status_code == 403


async def test_keys_are_made_in_person_or_with_the_keys_scope(client, owner, two_bots):
    bot_a, bot_b = two_bots
    default = await _key(client, owner)  # keys made before scoping look like this
    assert sorted(default["scopes"]) == ["chat", "read", "write"] and default["bot_ids"] is None
    plain = {"X-API-Key": default["key"]}
    for request in (
        client.post(f"{API}/api-keys", json={"name": "more"}, headers=plain),
        client.get(f"{API}/api-keys", headers=plain),
        client.patch(f"{API}/users/me", json={"full_name": "Eve"}, headers=plain),
    ):
        r = await request
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    manager = await _key(client, owner, scopes=["keys", "read"], bot_ids=[bot_a])
    headers = {"X-API-Key": manager["key"]}
    narrower = await client.post(
        f"{API}/api-keys",
        json={"name": "n", "scopes": ["read"], "bot_ids": [bot_a]},
        headers=headers,
    )
    assert narrower.status_code == 201
    for wider in (
        {"scopes": ["write"], "bot_ids": [bot_a]},
        {"scopes": ["read"]},
        {"scopes": ["read"], "bot_ids": [bot_b]},
    ):
        r = await client.post(f"{API}/api-keys", json={"name": "w", **wider}, headers=headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "api_key_too_broad", wider


async def test_bots_of_another_owner_cannot_be_granted(client, owner, make_user):
    other = await make_user()
    theirs = await _bot(client, other, "Theirs")
    r = await client.post(f"{API}/api-keys", json={"name": "k", "bot_ids": [theirs]}, headers=owner)
    assert r.status_code == 404 and r.json()["error"]["code"] == "bot_not_found"


async def test_the_key_list_shows_scopes_bots_and_last_use(client, owner, two_bots):
    bot_a, _ = two_bots
    key = await _key(client, owner, scopes=["read"], bot_ids=[bot_a])
    assert (await client.get(f"{API}/bots", headers={"X-API-Key": key["key"]})).status_code == 200
    [listed] = (await client.get(f"{API}/api-keys", headers=owner)).json()["items"]
    assert listed["scopes"] == ["read"] and listed["bot_ids"] == [bot_a]
    assert listed["last_used_at"] is not None and "key" not in listed
