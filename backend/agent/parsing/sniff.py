"""Detect a document's type from its bytes; the filename may only tell Markdown from plain text."""

from __future__ import annotations

import io
import re
import zipfile

from charset_normalizer import from_bytes

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
PLAIN = "text/plain"

SUPPORTED = frozenset({PDF, DOCX, HTML, MARKDOWN, PLAIN})

_SAMPLE_BYTES = 64 * 1024
# The PDF spec lets readers accept a header anywhere in the first KiB.
_PDF_HEADER_WINDOW = 1024
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAGS = re.compile(rb"<(html|head|body|div|p|h[1-6]|table|article|section)\b[^>]*>", re.I)
_MARKDOWN_HINTS = re.compile(r"^(#{1,6} \S|```|\* \S|- \S|\d+\. \S|\[[^\]]+\]\([^)]+\))", re.M)
_PDF_OBJECT = re.compile(rb"(?:^|\s)\d+ \d+ obj\b")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def sniff(data: bytes, filename: str | None = None) -> str | None:
    """Return the content type of `data`, or None when it is not a supported document."""
    if not data:
        return None
    if data.startswith(b"PK\x03\x04"):
        return DOCX if _is_docx(data) else None
    sample = data[:_SAMPLE_BYTES]
    if _is_pdf(sample):
        return PDF
    text = _decode_sample(sample)
    if text is None:
        return None
    if _looks_like_html(sample):
        return HTML
    if filename and filename.lower().endswith(_MARKDOWN_SUFFIXES):
        return MARKDOWN
    if filename and filename.lower().endswith(".txt"):
        return PLAIN
    return MARKDOWN if len(_MARKDOWN_HINTS.findall(text)) >= 2 else PLAIN


def _is_pdf(sample: bytes) -> bool:
    """A PDF header at the start, or later in the first KiB of a file that is not text.

    Text that merely mentions "%PDF-" (a note about file formats, a pasted log) stays text;
    a real PDF with junk before its header has binary streams or object syntax after it.
    """
    at = sample.find(b"%PDF-", 0, _PDF_HEADER_WINDOW)
    if at < 0:
        return False
    if not sample[:at].strip():
        return True
    if b"endobj" in sample and _PDF_OBJECT.search(sample):
        return True
    return _decode_sample(sample) is None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _decode_sample(sample: bytes) -> str | None:
    """Decode a sample if it is text; None for binary data (images, archives, executables)."""
    if not sample.startswith(_BOMS) and b"\x00" in sample:
        return None
    try:
        # A cut in the middle of a multi-byte character must not make UTF-8 look binary.
        text = (
            sample.decode("utf-8-sig", errors="strict")
            if sample.isascii()
            else _utf8_prefix(sample)
        )
    except UnicodeDecodeError:
        best = from_bytes(sample).best()
        if best is None:
            return None
        text = str(best)
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return None if controls > len(text) * 0.01 + 1 else text


def _utf8_prefix(sample: bytes) -> str:
    try:
        return sample.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            raise
        return sample[: exc.start].decode("utf-8-sig")


def _looks_like_html(sample: bytes) -> bool:
    if sample.startswith(_BOMS[0]):
        sample = sample[3:]
    return bool(_HTML_START.match(sample)) or len(_HTML_TAGS.findall(sample[:4096])) >= 3
