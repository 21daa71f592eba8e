"""Document endpoints in rollback mode: validation, refusals, ownership, storage, listing."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select

from app.bots.models import Bot
from app.documents import service
from app.documents.models import Document, DocumentChunk
from tests.documents.helpers import BOTS, DOCS, add_text, create_bot, text_pdf, upload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


async def test_upload_is_accepted_queued_and_stored_under_a_generated_name(client, owner, settings):
    bot = await create_bot(client, owner)
    data = text_pdf(["Refunds are processed within five business days."])
    r = await upload(client, owner, bot["id"], data, filename="../../etc/passwd.pdf")
    assert r.status_code == 202, r.text
    doc = r.json()
    assert doc["status"] == "queued" and doc["progress"] == 0 and doc["error"] is None
    assert doc["content_type"] == "application/pdf"
    assert doc["size_bytes"] == len(data)
    assert doc["content_hash"] == hashlib.sha256(data).hexdigest()
    assert doc["filename"] == "passwd.pdf"  # metadata only
    stored = [p for p in settings.upload_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].parent == settings.upload_dir
    assert stored[0].name != "passwd.pdf" and stored[0].read_bytes() == data


async def test_type_comes_from_the_bytes_not_the_name(client, owner):
    bot = await create_bot(client, owner)
    r = await upload(
        client, owner, bot["id"], PNG, filename="report.pdf", content_type="application/pdf"
    )
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_file_type"
    r = await upload(client, owner, bot["id"], b"# Title\n\nplain words", filename="image.png")
    assert r.status_code == 202 and r.json()["content_type"].startswith("text/")


async def test_empty_file_is_422(client, owner):
    bot = await create_bot(client, owner)
    r = await upload(client, owner, bot["id"], b"")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "empty_document"


async def test_missing_file_field_is_422(client, owner):
    bot = await create_bot(client, owner)
    r = await client.post(
        f"{BOTS}/{bot['id']}/documents", files={"other": ("a.txt", b"hi")}, headers=owner
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_upload"
    r = await client.post(f"{BOTS}/{bot['id']}/documents", json={"file": "x"}, headers=owner)
    assert r.status_code == 422


async def test_malformed_multipart_body_is_422_not_500(client, owner, settings):
    bot = await create_bot(client, owner)
    headers = {**owner, "Content-Type": "multipart/form-data; boundary=xyz"}
    r = await client.post(
        f"{BOTS}/{bot['id']}/documents", content=b"not multipart at all", headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_upload"
    assert not [p for p in settings.upload_dir.rglob("*") if p.is_file()]


async def test_over_the_limit_is_413_while_streaming(client, owner, settings):
    settings.max_upload_mb = 1
    bot = await create_bot(client, owner)
    sent = 0
    boundary = "limitboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()

    async def body():
        nonlocal sent
        yield head
        for _ in range(64):  # 4 MiB in total, no Content-Length
            sent += 64 * 1024
            yield b"a" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**owner, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = await client.post(f"{BOTS}/{bot['id']}/documents", content=body(), headers=headers)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "file_too_large"
    assert "1 MB" in r.json()["error"]["message"]
    assert sent < 2 * 1024 * 1024  # it stopped reading soon after the limit
    assert not [p for p in settings.upload_dir.rglob("*") if p.is_file()]  # nothing left behind


async def test_declared_length_over_the_limit_is_refused_up_front(client, owner, settings):
    settings.max_upload_mb = 1
    bot = await create_bot(client, owner)
    r = await upload(client, owner, bot["id"], b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    exactly = await upload(client, owner, bot["id"], b"y" * (1024 * 1024))
    assert exactly.status_code == 202


async def test_same_content_twice_is_409_with_the_existing_id(client, owner):
    bot = await create_bot(client, owner)
    first = await upload(client, owner, bot["id"], b"Same words in both files.", filename="a.txt")
    again = await upload(client, owner, bot["id"], b"Same words in both files.", filename="b.txt")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "duplicate_document"
    assert error["details"]["document_id"] == first.json()["id"]
    other_bot = await create_bot(client, owner, name="Other")
    assert (
        await upload(client, owner, other_bot["id"], b"Same words in both files.")
    ).status_code == 202


async def test_pasted_text(client, owner):
    bot = await create_bot(client, owner)
    r = await add_text(
        client, owner, bot["id"], "# Shipping\n\n- We ship worldwide.\n- Free over $50."
    )
    assert r.status_code == 202, r.text
    doc = r.json()
    assert doc["filename"] == "Pasted" and doc["content_type"] == "text/markdown"
    assert doc["status"] == "queued"
    dup = await add_text(
        client, owner, bot["id"], "# Shipping\n\n- We ship worldwide.\n- Free over $50."
    )
    assert dup.status_code == 409 and dup.json()["error"]["details"]["document_id"] == doc["id"]


async def test_pasted_text_refusals(client, owner, settings):
    bot = await create_bot(client, owner)
    assert (await add_text(client, owner, bot["id"], "   \n ")).status_code == 422
    assert (await add_text(client, owner, bot["id"], "text", title="")).status_code == 422
    settings.max_upload_mb = 1
    r = await add_text(client, owner, bot["id"], "é" * (600 * 1024))  # 1.2 MB of UTF-8
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"


async def test_list_filter_and_get(client, owner, db):
    bot = await create_bot(client, owner)
    ids = [
        (await upload(client, owner, bot["id"], f"document {i}".encode())).json()["id"]
        for i in range(3)
    ]
    failed = await db.get(Document, uuid.UUID(ids[0]))
    failed.status, failed.error = "failed", "PDF is password-protected"
    await db.commit()

    r = await client.get(f"{BOTS}/{bot['id']}/documents", headers=owner)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3 and body["limit"] == 20 and body["offset"] == 0
    r = await client.get(
        f"{BOTS}/{bot['id']}/documents", params={"status": "failed"}, headers=owner
    )
    assert [d["id"] for d in r.json()["items"]] == [ids[0]]
    assert r.json()["items"][0]["error"] == "PDF is password-protected"
    r = await client.get(
        f"{BOTS}/{bot['id']}/documents", params={"status": "queued", "limit": 1}, headers=owner
    )
    assert r.json()["total"] == 2 and len(r.json()["items"]) == 1
    assert (
        await client.get(f"{BOTS}/{bot['id']}/documents", params={"status": "bogus"}, headers=owner)
    ).status_code == 422
    r = await client.get(f"{DOCS}/{ids[1]}", headers=owner)
    assert r.status_code == 200 and r.json()["id"] == ids[1]


async def test_another_owners_documents_answer_404(client, owner, make_user):
    bot = await create_bot(client, owner)
    doc = (await upload(client, owner, bot["id"], b"private notes")).json()
    stranger = await make_user()
    for method, path in [
        ("GET", f"{DOCS}/{doc['id']}"),
        ("DELETE", f"{DOCS}/{doc['id']}"),
        ("GET", f"{DOCS}/{doc['id']}/chunks"),
        ("POST", f"{DOCS}/{doc['id']}/reindex"),
        ("GET", f"{DOCS}/{uuid.uuid4()}"),
    ]:
        r = await client.request(method, path, headers=stranger)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"] == "document_not_found"
    r = await upload(client, stranger, bot["id"], b"sneaky")
    assert r.status_code == 404 and r.json()["error"]["code"] == "bot_not_found"
    r = await client.get(f"{BOTS}/{bot['id']}/documents", headers=stranger)
    assert r.status_code == 404
    r = await client.post(f"{BOTS}/{bot['id']}/search", json={"query": "notes"}, headers=stranger)
    assert r.status_code == 404
    assert (await client.get(f"{DOCS}/{doc['id']}", headers=owner)).status_code == 200


async def test_unauthenticated_upload_is_401_and_stores_nothing(client, owner, settings):
    bot = await create_bot(client, owner)
    r = await upload(client, {}, bot["id"], b"anonymous")
    assert r.status_code == 401
    assert not [p for p in settings.upload_dir.rglob("*") if p.is_file()]


async def test_chunks_are_listed_in_order_and_resolved_for_sources(client, owner, db):
    bot = await create_bot(client, owner)
    doc = (await upload(client, owner, bot["id"], b"chunk source", filename="faq.txt")).json()
    doc_id = uuid.UUID(doc["id"])
    for index in (2, 0, 1):
        db.add(
            DocumentChunk(
                document_id=doc_id,
                bot_id=uuid.UUID(bot["id"]),
                chunk_index=index,
                page=index + 1,
                text=f"text {index}",
                token_count=2,
            )
        )
    await db.commit()
    r = await client.get(f"{DOCS}/{doc['id']}/chunks", params={"limit": 2}, headers=owner)
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 3 and [c["chunk_index"] for c in page["items"]] == [0, 1]
    assert set(page["items"][0]) >= {"id", "chunk_index", "page", "text", "token_count"}

    found = await service.resolve_chunks(
        db, uuid.UUID(bot["id"]), [f"{doc_id}:2", f"{doc_id}:0", f"{doc_id}:9", "junk"]
    )
    assert list(found) == [f"{doc_id}:2", f"{doc_id}:0"]
    assert found[f"{doc_id}:2"].document_name == "faq.txt" and found[f"{doc_id}:2"].page == 3
    assert await service.resolve_chunks(db, uuid.uuid4(), [f"{doc_id}:0"]) == {}


async def test_delete_removes_the_row_and_its_chunks(client, owner, db):
    bot = await create_bot(client, owner)
    doc = (await upload(client, owner, bot["id"], b"to be deleted")).json()
    db.add(
        DocumentChunk(
            document_id=uuid.UUID(doc["id"]),
            bot_id=uuid.UUID(bot["id"]),
            chunk_index=0,
            text="to be deleted",
            token_count=3,
        )
    )
    await db.commit()
    assert (await client.delete(f"{DOCS}/{doc['id']}", headers=owner)).status_code == 204
    assert (await client.get(f"{DOCS}/{doc['id']}", headers=owner)).status_code == 404
    left = await db.scalars(
        select(DocumentChunk).where(DocumentChunk.document_id == uuid.UUID(doc["id"]))
    )
    assert left.all() == []


async def test_reindex_requeues(client, owner, db):
    bot = await create_bot(client, owner)
    doc = (await upload(client, owner, bot["id"], b"reindex me")).json()
    row = await db.get(Document, uuid.UUID(doc["id"]))
    row.status, row.error, row.progress = "failed", "boom", 40
    await db.commit()
    r = await client.post(f"{DOCS}/{doc['id']}/reindex", headers=owner)
    assert r.status_code == 202
    assert (
        r.json()["status"] == "queued" and r.json()["error"] is None and r.json()["progress"] == 0
    )


async def test_reindex_while_processing_is_409(client, owner, db):
    bot = await create_bot(client, owner)
    doc = (await upload(client, owner, bot["id"], b"busy doc")).json()
    row = await db.get(Document, uuid.UUID(doc["id"]))
    row.status = "processing"
    await db.commit()
    r = await client.post(f"{DOCS}/{doc['id']}/reindex", headers=owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "document_busy"


async def test_search_before_anything_is_indexed_is_empty(client, owner):
    bot = await create_bot(client, owner)
    r = await client.post(f"{BOTS}/{bot['id']}/search", json={"query": "refunds"}, headers=owner)
    assert r.status_code == 200 and r.json() == {"items": []}
    r = await client.post(f"{BOTS}/{bot['id']}/search", json={"query": ""}, headers=owner)
    assert r.status_code == 422


async def test_search_refuses_to_mix_embedding_models(client, owner, db):
    bot = await create_bot(client, owner)
    row = await db.get(Bot, uuid.UUID(bot["id"]))
    row.embedding_model = "some-older-model"
    await db.commit()
    r = await client.post(f"{BOTS}/{bot['id']}/search", json={"query": "refunds"}, headers=owner)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "embedding_model_mismatch" and "eindex" in error["message"]
    assert error["details"]["bot_embedding_model"] == "some-older-model"


async def test_openapi_describes_the_upload(client):
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/api/v1/bots/{bot_id}/documents"]["post"]["requestBody"]
    assert "file" in body["content"]["multipart/form-data"]["schema"]["properties"]


async def test_docx_is_recognised_from_its_bytes(client, owner):
    import io

    from docx import Document as DocxDocument

    buffer = io.BytesIO()
    docx = DocxDocument()
    docx.add_paragraph("Warranty lasts two years.")
    docx.save(buffer)
    bot = await create_bot(client, owner)
    r = await upload(client, owner, bot["id"], buffer.getvalue(), filename="warranty.bin")
    assert r.status_code == 202, r.text
    assert r.json()["content_type"].endswith("wordprocessingml.document")
    r = await upload(client, owner, bot["id"], b"PK\x03\x04" + b"\x00" * 100, filename="fake.docx")
    assert r.status_code == 415


async def test_metrics_count_documents_by_status(client, owner):
    bot = await create_bot(client, owner)
    for i in range(2):
        assert (
            await upload(client, owner, bot["id"], f"metric doc {i}".encode())
        ).status_code == 202
    text = (await client.get("/metrics")).text
    assert 'chatsphere_documents{status="queued"} 2.0' in text
    assert 'chatsphere_documents{status="failed"} 0.0' in text
    assert "chatsphere_queue_depth" in text
