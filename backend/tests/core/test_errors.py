from __future__ import annotations

import httpx
import pytest


async def test_unknown_route_is_enveloped(client):
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "not_found"
    assert error["request_id"] == r.headers["X-Request-ID"]
    assert set(error) == {"code", "message", "details", "request_id"}


async def test_wrong_method_is_enveloped(client):
    r = await client.put("/api/v1/health")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


async def test_malformed_json_is_a_validation_error(client):
    r = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


async def test_missing_fields_are_listed(client):
    r = await client.post("/api/v1/auth/register", json={})
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["error"]["details"]["errors"]]
    assert ["body", "email"] in locs and ["body", "password"] in locs


async def test_crash_answers_500_without_internals(app, runtime):
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret database password is hunter2")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
    assert r.status_code == 500
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    error = r.json()["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] and r.headers["X-Request-ID"] == error["request_id"]


@pytest.mark.parametrize("path", ["/api/v1/health", "/metrics", "/api/v1/nope", "/openapi.json"])
async def test_every_response_has_a_request_id(client, path):
    r = await client.get(path)
    assert len(r.headers["X-Request-ID"]) >= 16


async def test_a_sane_incoming_request_id_is_kept(client):
    r = await client.get("/api/v1/health", headers={"X-Request-ID": "trace-123"})
    assert r.headers["X-Request-ID"] == "trace-123"
    r = await client.get("/api/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["X-Request-ID"] != "bad id\twith spaces"


async def test_cors_preflight_allows_configured_origins(settings, runtime):
    from app.main import create_app

    settings.cors_origins = ["https://dash.example.com"]
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        headers = {"Origin": "https://dash.example.com", "Access-Control-Request-Method": "POST"}
        ok = await c.options("/api/v1/bots", headers=headers)
        bad = await c.options("/api/v1/bots", headers={**headers, "Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://dash.example.com"
    assert "access-control-allow-origin" not in bad.headers


async def test_docs_describe_every_route(client):
    spec = (await client.get("/openapi.json")).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("tags"), f"{method} {path} has no tag"
            assert op.get("description") or op.get("summary"), f"{method} {path} undocumented"
    assert (await client.get("/docs")).status_code == 200
