"""HTML: visible text only, with headings kept as Markdown '#' lines for the chunker."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bs4.dammit import UnicodeDammit
from lxml import etree
from lxml import html as lxml_html

from agent.errors import ParseError
from agent.parsing._limits import NO_TEXT, clean_text
from agent.types import Page, ParsedDocument

# Page chrome and non-content: what a reader skips, and what would pollute retrieval.
_NOISE = {
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
}
_BLOCKS = {
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
}
_HEADING = re.compile(r"^h([1-6])$")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


class HtmlParser:
    """One pass over lxml's tree, linear in the size of the document whatever its shape
    (a tree-editing approach was quadratic: 40k paragraphs took minutes)."""

    def parse(self, data: bytes) -> ParsedDocument:
        # UnicodeDammit honours BOMs and <meta charset>, then guesses; lxml alone would
        # read undeclared UTF-8 as Latin-1.
        markup = UnicodeDammit(data, is_html=True).unicode_markup
        if markup is None:
            raise ParseError("HTML could not be decoded; save it as UTF-8")
        parser = lxml_html.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True
        )
        try:
            root = lxml_html.document_fromstring(markup.encode("utf-8"), parser=parser)
        except (etree.ParserError, ValueError) as exc:
            raise ParseError(NO_TEXT) from exc
        if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
            # libxml2 stops at 256 levels of nesting; what lies deeper would be lost.
            raise ParseError("HTML is nested too deeply to read (over 256 levels)")
        title = _title(root)
        text = clean_text("".join(_visible_text(root)))
        if not text:
            raise ParseError(NO_TEXT)
        return ParsedDocument(pages=[Page(1, text)], title=title)


def _title(root: etree._Element) -> str | None:
    found = root.find(".//title")
    text = " ".join(" ".join(found.itertext()).split()) if found is not None else ""
    return text[:300] or None


def _visible_text(root: etree._Element) -> Iterator[str]:
    """Visible text with headings as '#' lines and line breaks around blocks, so the text
    keeps its shape for the chunker. Each element is visited once: skipped subtrees
    (noise, hidden, headings read whole) are never walked."""
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        name = element.tag.lower() if isinstance(element.tag, str) else None
        if event == "start":
            if name is None or name in _NOISE or _hidden(element):
                walker.skip_subtree()  # its tail still comes with its end event
                continue
            if heading := _HEADING.match(name):
                words = " ".join(" ".join(element.itertext()).split())
                level = int(heading.group(1))
                yield f"\n\n{'#' * level} {words}\n\n" if words else "\n"
                walker.skip_subtree()
                continue
            if name == "br":
                yield "\n"
            elif name == "li":
                yield "\n- "
            elif name in _BLOCKS:
                yield "\n\n"
            if element.text:
                yield element.text
        else:
            if name in ("td", "th"):
                yield " | "
            elif name in _BLOCKS:
                yield "\n\n"
            if element.tail:
                yield element.tail


def _hidden(element: etree._Element) -> bool:
    return (
        element.get("hidden") is not None
        or element.get("aria-hidden") == "true"
        or bool(_HIDDEN_STYLE.search(element.get("style") or ""))
    )
