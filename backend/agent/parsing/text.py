"""Plain text and Markdown: decode with charset detection, keep the text (and headings) as is."""

from __future__ import annotations

from charset_normalizer import from_bytes

from agent.errors import ParseError
from agent.parsing._limits import NO_TEXT, clean_text
from agent.types import Page, ParsedDocument

_BOM_CODECS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


class TextParser:
    """Parses TXT and Markdown alike: Markdown headings are already the '#' lines chunking uses."""

    def parse(self, data: bytes) -> ParsedDocument:
        text = clean_text(decode_text(data))
        if not text:
            raise ParseError(NO_TEXT)
        return ParsedDocument(pages=[Page(1, text)], title=_markdown_title(text))


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding; raise ParseError when they are not text at all."""
    for bom, codec in _BOM_CODECS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        # Most uploads are UTF-8; trying it first skips charset detection's cost.
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise ParseError("file is not readable text (unknown character encoding)")
    return str(best)


def _markdown_title(text: str) -> str | None:
    first = text.split("\n", 1)[0]
    if not first.startswith("# "):
        return None
    return first[2:].strip()[:300] or None
