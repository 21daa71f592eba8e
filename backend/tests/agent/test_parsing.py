from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import docx
import pytest

from agent.errors import ParseError
from agent.parsing import parse_document, sniff
from agent.parsing.sniff import DOCX, HTML, MARKDOWN, PDF, PLAIN
from agent.settings import AgentSettings
from tests.agent.conftest import CORPUS

SETTINGS = AgentSettings()
PDF_DIR = CORPUS / "pdf"
CORPUS_PDFS = sorted(PDF_DIR.rglob("*.pdf")) if PDF_DIR.is_dir() else []
# The owner can act on each of these.
KNOWN_REASONS = (
    "password-protected",
    "no extractable text",
    "damaged",
    "unsupported encryption",
    "pages",
)

needs_corpus = pytest.mark.skipif(not CORPUS_PDFS, reason=f"PDF corpus not found at {PDF_DIR}")


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_PDFS, ids=lambda p: str(p.relative_to(PDF_DIR)))
def test_every_corpus_pdf_parses_or_fails_with_a_reason(path: Path) -> None:
    data = path.read_bytes()
    assert sniff(data, path.name) == PDF
    started = time.monotonic()
    try:
        document = parse_document(data, PDF, SETTINGS)
    except ParseError as exc:
        assert any(reason in exc.message for reason in KNOWN_REASONS), exc.message
    else:
        assert document.pages and all(page.text.strip() for page in document.pages)
        assert [p.number for p in document.pages] == sorted({p.number for p in document.pages})
    assert time.monotonic() - started < 10


@needs_corpus
def test_password_protected_pdf_says_so() -> None:
    with pytest.raises(ParseError, match="PDF is password-protected"):
        parse_document((PDF_DIR / "libreoffice-writer-password.pdf").read_bytes(), PDF, SETTINGS)


@needs_corpus
def test_pdf_with_empty_user_password_is_read() -> None:
    document = parse_document(
        (PDF_DIR / "encryption" / "r6-empty-password.pdf").read_bytes(), PDF, SETTINGS
    )
    assert document.pages[0].text


@needs_corpus
def test_image_only_pdf_asks_for_ocr() -> None:
    with pytest.raises(ParseError, match=r"no extractable text \(scanned images need OCR\)"):
        parse_document((PDF_DIR / "imagemagick-CCITTFaxDecode.pdf").read_bytes(), PDF, SETTINGS)


@needs_corpus
def test_pdf_pages_keep_their_numbers() -> None:
    document = parse_document((PDF_DIR / "pdflatex-outline.pdf").read_bytes(), PDF, SETTINGS)
    assert [p.number for p in document.pages] == [1, 2, 3, 4]


@needs_corpus
def test_pdf_over_the_page_cap_is_refused() -> None:
    data = (PDF_DIR / "pdflatex-outline.pdf").read_bytes()
    with pytest.raises(ParseError, match="PDF has 4 pages; the limit is 3 pages"):
        parse_document(data, PDF, AgentSettings(max_pdf_pages=3))


@pytest.mark.parametrize("data", [b"%PDF-1.7\n" + b"\x00garbage" * 50, b"%PDF-1.4\n1 0 obj\n<<"])
def test_damaged_pdf_fails_with_a_short_reason(data: bytes) -> None:
    with pytest.raises(ParseError, match="PDF is damaged: ") as caught:
        parse_document(data, PDF, SETTINGS)
    assert len(caught.value.message) < 160


def test_file_over_the_byte_limit_is_refused() -> None:
    with pytest.raises(ParseError, match="exceeds the 1 MB limit"):
        parse_document(
            b"a" * (1024 * 1024 + 1), PLAIN, AgentSettings(max_document_bytes=1024 * 1024)
        )


def test_unsupported_type_is_refused() -> None:
    with pytest.raises(ParseError, match="unsupported file type"):
        parse_document(b"\x89PNG\r\n", "image/png", SETTINGS)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1252"])
def test_text_encodings_are_detected(encoding: str) -> None:
    text = (
        "Le café est ouvert tous les jeudis. Le thé glacé est servi à volonté, même en été.\n" * 5
    )
    document = parse_document(text.encode(encoding), PLAIN, SETTINGS)
    # Short single-byte texts are ambiguous between Western code pages; these letters are not.
    assert "Le café est ouvert" in document.pages[0].text
    assert "même en été" in document.pages[0].text


def test_markdown_keeps_headings() -> None:
    document = parse_document(b"# Guide\n\nIntro.\n\n## Install\n\nRun it.", MARKDOWN, SETTINGS)
    assert document.title == "Guide"
    assert "## Install" in document.pages[0].text


def test_empty_text_file_has_no_extractable_text() -> None:
    with pytest.raises(ParseError, match="no extractable text"):
        parse_document(b"  \n\n \t ", PLAIN, SETTINGS)


def test_html_keeps_visible_text_and_headings_only() -> None:
    html = b"""<!doctype html><html><head><title>Shop help</title><style>p{color:red}</style>
    <script>var secret = 1;</script></head><body><nav>Home | About</nav>
    <h1>Returns</h1><p>Return items within <b>30 days</b>.</p><div hidden>internal note</div>
    <h2>Refunds</h2><ul><li>Card</li><li>PayPal</li></ul><footer>(c) Shop</footer></body></html>"""
    document = parse_document(html, HTML, SETTINGS)
    text = document.pages[0].text
    assert document.title == "Shop help"
    assert "# Returns" in text and "## Refunds" in text
    assert "Return items within 30 days." in text and "- Card" in text
    for noise in ("secret", "color:red", "Home | About", "internal note", "(c) Shop"):
        assert noise not in text


def _docx_bytes() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Handbook"
    document.add_heading("Leave policy", level=1)
    document.add_paragraph("Everyone gets 25 days of paid leave.")
    document.add_heading("Sick days", level=2)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Notice", "Same day"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_keeps_heading_styles_and_tables() -> None:
    data = _docx_bytes()
    assert sniff(data, "handbook.bin") == DOCX
    document = parse_document(data, DOCX, SETTINGS)
    text = document.pages[0].text
    assert document.title == "Handbook"
    assert "# Leave policy\n\nEveryone gets 25 days of paid leave." in text
    assert "## Sick days" in text and "Notice | Same day" in text


def test_damaged_docx_fails_with_a_reason() -> None:
    with pytest.raises(ParseError, match="DOCX is damaged"):
        parse_document(b"PK\x03\x04not really a zip", DOCX, SETTINGS)


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "content")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"%PDF-1.7\n...", "notes.txt", PDF),
        (b"<!DOCTYPE html><html><body>Hi</body></html>", "page.txt", HTML),
        (b"<div><p>one</p><p>two</p></div>", None, HTML),
        (b"# Title\n\nSome text", "readme.md", MARKDOWN),
        (b"# Title\n\n- one\n- two\n", None, MARKDOWN),
        (b"# Title\n\nSome text", "readme.txt", PLAIN),
        (b"Just a plain note.\nSecond line.", None, PLAIN),
        ("Grüße aus Köln".encode("utf-16"), None, PLAIN),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.md", None),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", None, None),
        (_zip("data.csv"), "archive.docx", None),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00", None, None),
        (b"", "empty.txt", None),
    ],
)
def test_sniff_uses_bytes_not_names(
    data: bytes, filename: str | None, expected: str | None
) -> None:
    assert sniff(data, filename) == expected
