"""Turn uploaded bytes into pages of text.

`sniff` decides the type from the bytes; `parse_document` runs the matching parser in a
child process under the memory and time limits from `AgentSettings` (see `sandbox`), and
raises `ParseError` with a reason a person can act on, naming the limit a file hit.
"""

from __future__ import annotations

from agent.errors import ParseError
from agent.parsing._limits import check_size
from agent.parsing.base import Parser
from agent.parsing.docx import DocxParser
from agent.parsing.html import HtmlParser
from agent.parsing.pdf import PdfParser
from agent.parsing.sandbox import ParseOutcome, run_isolated
from agent.parsing.sniff import DOCX, HTML, MARKDOWN, PDF, PLAIN, sniff
from agent.parsing.text import TextParser
from agent.settings import AgentSettings
from agent.types import ParsedDocument

__all__ = [
    "ParseError",
    "ParseOutcome",
    "Parser",
    "parse_document",
    "parse_isolated",
    "parser_for",
    "sniff",
]


def parser_for(
    content_type: str,
    settings: AgentSettings,
    *,
    pages: tuple[int, int] | None = None,
    split_above: int | None = None,
) -> Parser:
    """`pages` and `split_above` apply to PDFs only (see `PdfParser`)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == PDF:
        return PdfParser(
            max_pages=settings.max_pdf_pages,
            timeout_seconds=settings.parse_timeout_seconds,
            pages=pages,
            split_above=split_above,
        )
    if kind == DOCX:
        return DocxParser(timeout_seconds=settings.parse_timeout_seconds)
    if kind == HTML:
        return HtmlParser()
    if kind in (MARKDOWN, PLAIN):
        return TextParser()
    raise ParseError("unsupported file type; upload PDF, TXT, Markdown, HTML or DOCX")


def parse_isolated(
    data: bytes,
    content_type: str,
    settings: AgentSettings,
    *,
    pages: tuple[int, int] | None = None,
    split_above: int | None = None,
) -> ParseOutcome:
    """Parse in a child process bounded by PARSE_MEMORY_MB and PARSE_TIMEOUT_SECONDS (per
    document, or per page range)."""
    check_size(data, settings.max_document_bytes)
    parser = parser_for(content_type, settings, pages=pages, split_above=split_above)
    return run_isolated(
        lambda: parser.parse(data),
        timeout_seconds=settings.parse_timeout_seconds,
        memory_mb=settings.parse_memory_mb,
    )


def parse_document(data: bytes, content_type: str, settings: AgentSettings) -> ParsedDocument:
    return parse_isolated(data, content_type, settings).result()
