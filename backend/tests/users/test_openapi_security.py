"""The OpenAPI document names both ways to authenticate, on exactly the operations that
need them, so that /docs' Authorize button works and generated clients send credentials."""

from __future__ import annotations


async def test_authenticated_operations_list_both_schemes(client):
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == (
        "/api/v1/auth/token"
    )
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "API key"
    }  # fmt: skip
    both = [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]
    paths = spec["paths"]
    assert paths["/api/v1/bots"]["get"]["security"] == both
    assert paths["/api/v1/bots/{bot_id}"]["delete"]["security"] == both  # via OwnedBot
    assert paths["/api/v1/openai/chat/completions"]["post"]["security"] == both
    for public in (("/api/v1/health", "get"), ("/api/v1/auth/login", "post"),
                   ("/api/v1/billing/plans", "get"), ("/api/v1/billing/webhook", "post")):  # fmt: skip
        assert "security" not in paths[public[0]][public[1]], public


async def test_the_bearer_scheme_is_read_as_oauth2_reads_it(client, owner):
    token = owner["Authorization"].split(" ", 1)[1]
    for header in (f"bearer {token}", f"Bearer   {token}", f"BEARER {token}"):
        r = await client.get("/api/v1/users/me", headers={"Authorization": header})
        assert r.status_code == 200, (header, r.text)
    for header in (token, f"Basic {token}", "Bearer", "Bearer "):
        r = await client.get("/api/v1/users/me", headers={"Authorization": header})
        assert r.status_code == 401, (header, r.text)
        assert r.json()["error"]["code"] == "not_authenticated"
