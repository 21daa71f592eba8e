"""Turn uploaded bytes into pages of text.

`sniff` decides the type from the bytes; `parse_document` runs the matching parser inside
the byte, page and time bounds from `AgentSettings`, and raises `ParseError` with a reason
a person can act on.
"""

from __future__ import annotations

from agent.errors import ParseError
from agent.parsing._limits import check_size
from agent.parsing.base import Parser
from agent.parsing.docx import DocxParser
from agent.parsing.html import HtmlParser
from agent.parsing.pdf import PdfParser
from agent.parsing.sniff import DOCX, HTML, MARKDOWN, PDF, PLAIN, sniff
from agent.parsing.text import TextParser
from agent.settings import AgentSettings
from agent.types import ParsedDocument

__all__ = ["ParseError", "Parser", "parse_document", "parser_for", "sniff"]


def parser_for(content_type: str, settings: AgentSettings) -> Parser:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == PDF:
        return PdfParser(
            max_pages=settings.max_pdf_pages, timeout_seconds=settings.parse_timeout_seconds
        )
    if kind == DOCX:
        return DocxParser(timeout_seconds=settings.parse_timeout_seconds)
    if kind == HTML:
        return HtmlParser()
    if kind in (MARKDOWN, PLAIN):
        return TextParser()
    raise ParseError("unsupported file type; upload PDF, TXT, Markdown, HTML or DOCX")


def parse_document(data: bytes, content_type: str, settings: AgentSettings) -> ParsedDocument:
    check_size(data, settings.max_document_bytes)
    return parser_for(content_type, settings).parse(data)
