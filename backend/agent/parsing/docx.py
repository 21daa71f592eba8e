"""DOCX with python-docx: paragraphs and tables in document order, headings as '#' lines."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.document import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from agent.errors import ParseError
from agent.parsing._limits import NO_TEXT, Deadline, clean_text
from agent.types import Page, ParsedDocument

# A DOCX is a zip; refuse archives that would inflate past this (zip bombs).
_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
_TOO_LARGE = (
    f"DOCX is too large once decompressed (over {_MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB)"
)
_READ_BLOCK = 1024 * 1024
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)


class DocxParser:
    def __init__(self, *, timeout_seconds: float = 120.0) -> None:
        self.timeout_seconds = timeout_seconds

    def parse(self, data: bytes) -> ParsedDocument:
        _check_archive(data)
        try:
            document = docx.Document(io.BytesIO(data))
        except Exception as exc:
            raise ParseError("DOCX is damaged or not a Word document") from exc
        text = clean_text("\n\n".join(_blocks(document, Deadline(self.timeout_seconds))))
        if not text:
            raise ParseError(NO_TEXT)
        return ParsedDocument(pages=[Page(1, text)], title=_title(document))


def _check_archive(data: bytes) -> None:
    """Inflate every entry once, counting the bytes as they come, and refuse the archive
    past the cap. The sizes a zip declares are the author's claim: a bomb understates them,
    and zipfile inflates past them without complaint."""
    inflated = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                with archive.open(info) as entry:
                    while block := entry.read(_READ_BLOCK):
                        inflated += len(block)
                        if inflated > _MAX_UNCOMPRESSED_BYTES:
                            raise ParseError(_TOO_LARGE)
    except ParseError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ParseError("DOCX is damaged or not a Word document") from exc
    except NotImplementedError as exc:  # an unsupported compression method
        raise ParseError("DOCX is damaged or not a Word document") from exc


def _blocks(document: Document, deadline: Deadline):
    for block in document.iter_inner_content():
        deadline.check()
        if isinstance(block, Paragraph):
            yield _paragraph(block)
        elif isinstance(block, Table):
            yield _table(block)


def _paragraph(paragraph: Paragraph) -> str:
    text = paragraph.text.strip()
    style = paragraph.style.name if paragraph.style is not None else ""
    if not text:
        return ""
    if style == "Title":
        return f"# {text}"
    if match := _HEADING_STYLE.match(style or ""):
        return f"{'#' * min(int(match.group(1)), 6)} {text}"
    if style and style.startswith("List"):
        return f"- {text}"
    return text


def _table(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = [cell.text.strip() for cell in row.cells]
        # Merged cells repeat the same text once per grid column; show it once.
        deduped = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
        if deduped:
            rows.append(" | ".join(deduped))
    return "\n".join(rows)


def _title(document: Document) -> str | None:
    title = (document.core_properties.title or "").strip()
    return title[:300] or None
