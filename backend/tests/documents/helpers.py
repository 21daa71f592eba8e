"""Small helpers shared by the documents tests."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

BOTS = "/api/v1/bots"
DOCS = "/api/v1/documents"
CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"


async def create_bot(client, headers, name: str = "Docs bot") -> dict:
    r = await client.post(BOTS, json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def upload(
    client,
    headers,
    bot_id: str,
    data: bytes,
    filename: str = "notes.txt",
    content_type: str = "application/octet-stream",
):
    files = {"file": (filename, data, content_type)}
    return await client.post(f"{BOTS}/{bot_id}/documents", files=files, headers=headers)


async def add_text(client, headers, bot_id: str, content: str, title: str = "Pasted"):
    return await client.post(
        f"{BOTS}/{bot_id}/documents/text",
        json={"title": title, "content": content},
        headers=headers,
    )


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with one line-wrapped text page per entry, written with pypdf (no fonts needed)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for text in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
        stream = DecodedStreamObject()
        stream.set_data(_page_stream(text))
        page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_stream(text: str, width: int = 90) -> bytes:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    ops = ["BT", "/F1 10 Tf", "12 TL", "40 760 Td"]
    for entry in lines[:60]:
        escaped = entry.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1", errors="replace")
