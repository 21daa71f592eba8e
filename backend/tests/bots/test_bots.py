from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.bots.models import Bot

BOTS = "/api/v1/bots"


async def create_bot(client, headers, **fields):
    r = await client.post(BOTS, json={"name": "Support", **fields}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_with_defaults(client, owner):
    bot = await create_bot(client, owner)
    assert bot["name"] == "Support"
    assert bot["agent_type"] == "rag"
    assert bot["top_k"] == 5 and bot["temperature"] == 0.2
    assert bot["public_key"].startswith("pk_") and len(bot["public_key"]) > 20
    assert bot["fallback_message"]
    assert bot["allowed_origins"] == [] and bot["suggested_questions"] == []
    assert bot["document_count"] == 0 and bot["embedding_model"] is None
    assert bot["created_at"].endswith(("Z", "+00:00"))


async def test_create_with_every_field(client, owner):
    fields = {
        "description": "Answers billing questions",
        "system_prompt": "Be brief.",
        "welcome_message": "Hi!",
        "fallback_message": "I don't know.",
        "model": "gemini-2.5-flash",
        "temperature": 2,
        "top_k": 20,
        "agent_type": "chat",
        "suggested_questions": ["How do refunds work?"],
        "allowed_origins": ["https://Example.com/"],
        "is_active": False,
    }
    bot = await create_bot(client, owner, **fields)
    assert bot["allowed_origins"] == ["https://example.com"]
    for key in ("description", "system_prompt", "temperature", "top_k", "agent_type", "is_active"):
        assert bot[key] == fields[key]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("temperature", 2.1),
        ("temperature", -0.1),
        ("top_k", 0),
        ("top_k", 21),
        ("agent_type", "wizard"),
        ("allowed_origins", ["example.com"]),
        ("allowed_origins", ["https://example.com/path"]),
        ("suggested_questions", ["q"] * 11),
        ("public_key", "pk_mine"),
    ],
)
async def test_invalid_fields_are_field_errors(client, owner, field, value):
    body = {"name": "Support", field: value}
    r = await client.post(BOTS, json=body, headers=owner)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["errors"][0]["loc"][:2] == ["body", field]


async def test_update_changes_only_sent_fields(client, owner):
    bot = await create_bot(client, owner, description="keep me")
    r = await client.patch(f"{BOTS}/{bot['id']}", json={"name": "Sales", "top_k": 3}, headers=owner)
    assert r.status_code == 200
    updated = r.json()
    assert (updated["name"], updated["top_k"], updated["description"]) == ("Sales", 3, "keep me")
    r = await client.patch(f"{BOTS}/{bot['id']}", json={"temperature": 5}, headers=owner)
    assert r.status_code == 422


async def test_list_is_paginated(client, owner):
    for i in range(3):
        await create_bot(client, owner, name=f"b{i}")
    page = (await client.get(f"{BOTS}?limit=2&offset=0", headers=owner)).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 0, 2)
    page2 = (await client.get(f"{BOTS}?limit=2&offset=2", headers=owner)).json()
    assert len(page2["items"]) == 1
    names = {b["name"] for b in page["items"] + page2["items"]}
    assert names == {"b0", "b1", "b2"}


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "offset=-1", "limit=abc", "offset=99999999999999999999"]
)
async def test_bad_pagination_is_rejected(client, owner, query):
    r = await client.get(f"{BOTS}?{query}", headers=owner)
    assert r.status_code == 422


async def test_rotate_public_key(client, owner):
    bot = await create_bot(client, owner)
    r = await client.post(f"{BOTS}/{bot['id']}/rotate-public-key", headers=owner)
    assert r.status_code == 200
    assert r.json()["public_key"] != bot["public_key"]


async def test_another_owners_bot_is_404_on_every_verb(client, make_user):
    alice, bob = await make_user(), await make_user()
    bot = await create_bot(client, alice)
    url = f"{BOTS}/{bot['id']}"
    responses = [
        await client.get(url, headers=bob),
        await client.patch(url, json={"name": "mine now"}, headers=bob),
        await client.delete(url, headers=bob),
        await client.post(f"{url}/rotate-public-key", headers=bob),
    ]
    missing = await client.get(f"{BOTS}/{uuid.uuid4()}", headers=bob)
    for r in responses:
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "bot_not_found"
        assert r.json()["error"]["message"] == missing.json()["error"]["message"]
    assert (await client.get(f"{BOTS}", headers=bob)).json()["total"] == 0
    assert (await client.get(url, headers=alice)).json()["name"] == "Support"


async def test_delete_bot(client, owner, db):
    bot = await create_bot(client, owner)
    assert (await client.delete(f"{BOTS}/{bot['id']}", headers=owner)).status_code == 204
    assert (await client.get(f"{BOTS}/{bot['id']}", headers=owner)).status_code == 404
    assert await db.scalar(select(func.count()).select_from(Bot)) == 0


async def test_bots_require_authentication(client):
    assert (await client.get(BOTS)).status_code == 401
    assert (await client.post(BOTS, json={"name": "x"})).status_code == 401


async def test_document_count_follows_documents(client, owner):
    bot = await create_bot(client, owner)
    for title in ("a", "b"):
        r = await client.post(
            f"{BOTS}/{bot['id']}/documents/text",
            json={"title": title, "content": f"Content of document {title}."},
            headers=owner,
        )
        assert r.status_code == 202, r.text
    assert (await client.get(f"{BOTS}/{bot['id']}", headers=owner)).json()["document_count"] == 2
    listed = (await client.get(BOTS, headers=owner)).json()["items"]
    assert listed[0]["document_count"] == 2
