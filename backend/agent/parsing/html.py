"""HTML: visible text only, with headings kept as Markdown '#' lines for the chunker."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from agent.errors import ParseError
from agent.parsing._limits import NO_TEXT, clean_text
from agent.types import Page, ParsedDocument

# Page chrome and non-content: what a reader skips, and what would pollute retrieval.
_NOISE = [
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "head",
]
_BLOCKS = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "pre",
    "table",
    "tr",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "address",
    "hr",
]
_HEADING = re.compile(r"^h([1-6])$")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


class HtmlParser:
    def parse(self, data: bytes) -> ParsedDocument:
        # lxml is fast and forgiving with broken markup; it is installed with python-docx.
        soup = BeautifulSoup(data, "lxml")
        title = _title(soup)
        _drop_invisible(soup)
        _mark_structure(soup)
        text = clean_text(soup.get_text())
        if not text:
            raise ParseError(NO_TEXT)
        return ParsedDocument(pages=[Page(1, text)], title=title)


def _title(soup: BeautifulSoup) -> str | None:
    tag = soup.find("title")
    text = tag.get_text(" ", strip=True) if tag else ""
    return text[:300] or None


def _drop_invisible(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(_NOISE):
        tag.decompose()
    hidden = [
        tag
        for tag in soup.find_all(True)
        if tag.has_attr("hidden")
        or tag.get("aria-hidden") == "true"
        or _HIDDEN_STYLE.search(str(tag.get("style") or ""))
    ]
    for tag in hidden:
        if not tag.decomposed:
            tag.decompose()


def _mark_structure(soup: BeautifulSoup) -> None:
    """Turn headings into '#' lines and put line breaks around blocks, so text keeps its shape."""
    for tag in soup.find_all(_HEADING):
        level = int(_HEADING.match(tag.name).group(1))
        heading = " ".join(tag.get_text(" ", strip=True).split())
        tag.replace_with(f"\n\n{'#' * level} {heading}\n\n" if heading else "\n")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all("li"):
        tag.insert_before("\n- ")
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after(" | ")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
