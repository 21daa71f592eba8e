from __future__ import annotations

import httpx

from app.core.runtime import Runtime
from app.main import create_app


async def test_liveness(client):
    r = await client.get("/api/v1/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readiness_names_each_part(live_client):
    # Live mode: the local vector store checks its own connection to the database.
    r = await live_client.get("/api/v1/health/ready")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "cache": "ok",
        "vector_store": "ok",
    }


async def test_readiness_is_503_naming_the_part_that_is_down(settings, engine):
    settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    runtime = Runtime(settings, engine=engine)
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/api/v1/health/ready")
    await runtime.aclose()
    assert r.status_code == 503
    error = r.json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"]["checks"]["cache"] == "down"
    assert error["details"]["checks"]["database"] == "ok"
    assert "cache" in error["message"]


async def test_metrics_are_labelled_by_route_template(client, owner):
    await client.get("/api/v1/bots/00000000-0000-0000-0000-000000000000", headers=owner)
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/bots/{bot_id}"' in text
    assert "00000000-0000" not in text
    assert "chatsphere_http_request_duration_seconds_bucket" in text
