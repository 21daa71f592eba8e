"""Inputs found to break the API from outside: each is now a clear 4xx in the envelope."""

from __future__ import annotations

import json
import os
import stat

import pytest

API = "/api/v1"


def _envelope(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["request_id"] == r.headers["X-Request-ID"]
    return error


async def test_a_body_past_the_limit_is_refused_before_it_is_read(client, settings):
    big = b'{"email": "a@b.co", "password": "' + b"x" * (settings.max_request_bytes + 1) + b'"}'
    headers = {"Content-Type": "application/json"}
    r = await client.post(f"{API}/auth/register", content=big, headers=headers)
    _envelope(r, 413, "payload_too_large")

    async def chunked():  # no Content-Length: counted as it arrives
        for _ in range(settings.max_request_bytes // 65536 + 2):
            yield b"x" * 65536

    r = await client.post(f"{API}/billing/webhook", content=chunked(), headers=headers)
    _envelope(r, 413, "payload_too_large")


async def test_pasted_text_may_be_as_large_as_an_upload(client, owner, settings):
    settings.max_upload_mb = 2
    bot = (await client.post(f"{API}/bots", json={"name": "B"}, headers=owner)).json()
    text = "word " * (1024 * 1024 // 5 * 2 - 100)  # just under 2 MB, over MAX_REQUEST_KB
    r = await client.post(
        f"{API}/bots/{bot['id']}/documents/text",
        json={"title": "Long", "content": text},
        headers=owner,
    )
    assert r.status_code == 202, r.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/auth/register",
            {"email": "s@example.com", "password": "pass\ud800word", "full_name": "S"},
        ),
        ("/users/me", {"password": "a new password", "current_password": "\ud800"}),
        ("/bots/{bot}/documents/text", {"title": "T", "content": "text \ud800 here"}),
    ],
)
async def test_text_that_is_not_unicode_is_a_validation_error(client, owner, path, body):
    bot = (await client.post(f"{API}/bots", json={"name": "B"}, headers=owner)).json()
    raw = json.dumps(body)  # json.dumps writes the lone surrogate as the escape \ud800
    method = client.patch if path == "/users/me" else client.post
    r = await method(
        API + path.format(bot=bot["id"]),
        content=raw,
        headers={**owner, "Content-Type": "application/json"},
    )
    _envelope(r, 422, "validation_error")


async def _upload(client, owner, bot_id: str, body: bytes, boundary: str):
    headers = {**owner, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return await client.post(f"{API}/bots/{bot_id}/documents", content=body, headers=headers)


def _part(boundary: str, filename: str, data: bytes, close: bool = True) -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    return head + data + (f"\r\n--{boundary}--\r\n".encode() if close else b"")


async def test_multipart_bodies_that_are_not_well_formed(client, owner):
    bot = (await client.post(f"{API}/bots", json={"name": "B"}, headers=owner)).json()["id"]
    long_boundary = "b" * 2000
    r = await _upload(client, owner, bot, _part(long_boundary, "a.txt", b"hello"), long_boundary)
    assert "70 characters" in _envelope(r, 422, "invalid_upload")["message"]
    cut = _part("xyz", "a.txt", b"the first half of a document", close=False)
    r = await _upload(client, owner, bot, cut, "xyz")
    assert "cut short" in _envelope(r, 422, "invalid_upload")["message"]


async def test_a_very_long_filename_is_kept_shortened(client, owner):
    bot = (await client.post(f"{API}/bots", json={"name": "B"}, headers=owner)).json()["id"]
    name = "n" * 5000 + ".txt"
    r = await _upload(client, owner, bot, _part("xyz", name, b"Some real text."), "xyz")
    assert r.status_code == 202, r.text
    assert r.json()["filename"] == name[:255]


async def test_a_500_is_logged_with_its_request_id(app, capsys):
    import httpx

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("internal detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/explode")
    assert r.status_code == 500 and "internal detail" not in r.text
    logged = capsys.readouterr().err
    assert r.headers["X-Request-ID"] in logged and "internal detail" in logged


async def test_the_data_dir_is_private(client, owner, settings):
    bot = (await client.post(f"{API}/bots", json={"name": "B"}, headers=owner)).json()["id"]
    r = await client.post(
        f"{API}/bots/{bot}/documents/text", json={"title": "T", "content": "Hello."}, headers=owner
    )
    assert r.status_code == 202
    assert stat.S_IMODE(os.stat(settings.data_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(settings.upload_dir).st_mode) == 0o700
    stored = [p for p in settings.upload_dir.iterdir() if p.is_file()]
    assert stored and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in stored)


async def test_only_offered_models_can_be_chosen(client, owner, settings):
    r = await client.post(
        f"{API}/bots", json={"name": "B", "model": "gemini-ultra-9"}, headers=owner
    )
    error = _envelope(r, 422, "model_not_allowed")
    assert settings.agent.gemini_chat_model in error["details"]["allowed"]
    r = await client.post(
        f"{API}/bots", json={"name": "B", "model": "gemini-2.5-pro"}, headers=owner
    )
    assert r.status_code == 201
    r = await client.patch(f"{API}/bots/{r.json()['id']}", json={"model": "x"}, headers=owner)
    _envelope(r, 422, "model_not_allowed")
