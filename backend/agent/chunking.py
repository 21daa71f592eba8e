"""Token-aware recursive chunking: split on sections, then paragraphs, sentences, words.

Pieces are packed greedily up to `chunk_tokens`; each chunk after the first in a section
starts with the last ~`overlap_tokens` of the previous one, so an answer that straddles a
boundary is still found whole. A Markdown heading always starts a new chunk and labels
every chunk under it. Output depends only on the input, never on the environment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from agent.types import Chunk, Page

_WORD = re.compile(r"\w+")
_PUNCT = re.compile(r"[^\w\s]")
_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:。！？])\s+|\n")


def count_tokens(text: str) -> int:
    """Approximate subword tokens: ~1.3 per word plus one per punctuation mark. No tokenizer."""
    words = len(_WORD.findall(text))
    return (words * 13 + 9) // 10 + len(_PUNCT.findall(text))


@dataclass(slots=True)
class _Piece:
    text: str
    tokens: int
    page: int
    section: int
    heading: str | None
    # True when the piece begins a paragraph, so it is joined with a blank line, not a space.
    paragraph_start: bool


class Chunker:
    def __init__(self, chunk_tokens: int = 450, overlap_tokens: int = 60) -> None:
        if chunk_tokens < 8:
            raise ValueError("chunk_tokens must be at least 8")
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = max(0, min(overlap_tokens, chunk_tokens // 2))

    def split(self, pages: Sequence[Page]) -> list[Chunk]:
        groups = _group(_pieces(pages, self.chunk_tokens), self.chunk_tokens, self.overlap_tokens)
        return [_to_chunk(index, group) for index, group in enumerate(groups)]


def _pieces(pages: Sequence[Page], limit: int) -> Iterator[_Piece]:
    """Yield pieces no bigger than `limit` tokens, each tagged with its page and section."""
    section, heading = 0, None
    for page in pages:
        for is_heading, block in _sections(page.text):
            if is_heading:
                section += 1
                heading = block.split("\n", 1)[0].lstrip("#").strip()
            for paragraph in _PARAGRAPH_BREAK.split(block):
                paragraph = paragraph.strip()
                for i, (text, tokens) in enumerate(_split_paragraph(paragraph, limit)):
                    yield _Piece(text, tokens, page.number, section, heading, i == 0)


def _sections(text: str) -> Iterator[tuple[bool, str]]:
    """Split page text at Markdown heading lines; each heading line opens a block."""
    start, opens_section = 0, False
    for match in _HEADING_LINE.finditer(text):
        if match.start() > start or opens_section:
            yield opens_section, text[start : match.start()]
        start, opens_section = match.start(), True
    yield opens_section, text[start:]


def _split_paragraph(paragraph: str, limit: int) -> list[tuple[str, int]]:
    if not paragraph:
        return []
    tokens = count_tokens(paragraph)
    if tokens <= limit:
        return [(paragraph, tokens)]
    parts: list[tuple[str, int]] = []
    for sentence in _SENTENCE_END.split(paragraph):
        sentence = sentence.strip()
        if not sentence:
            continue
        tokens = count_tokens(sentence)
        parts.extend([(sentence, tokens)] if tokens <= limit else _word_windows(sentence, limit))
    return parts


def _word_windows(text: str, limit: int) -> list[tuple[str, int]]:
    """Last resort for run-on text (tables, code): consecutive runs of words under `limit`."""
    words, windows, current, used = text.split(), [], [], 0
    for word in words:
        cost = count_tokens(word) or 1
        if current and used + cost > limit:
            windows.append((" ".join(current), used))
            current, used = [], 0
        current.append(word)
        used += cost
    if current:
        windows.append((" ".join(current), used))
    return windows


def _group(pieces: Iterable[_Piece], limit: int, overlap: int) -> Iterator[list[_Piece]]:
    current: list[_Piece] = []
    used = 0
    for piece in pieces:
        if current and piece.section != current[-1].section:
            yield current
            current, used = [], 0
        elif current and used + piece.tokens > limit:
            yield current
            current = _tail(current, min(overlap, limit - piece.tokens))
            used = sum(p.tokens for p in current)
        current.append(piece)
        used += piece.tokens
    if current:
        yield current


def _tail(pieces: list[_Piece], budget: int) -> list[_Piece]:
    """The last `budget` tokens of a chunk, cut at sentence or word boundaries."""
    tail: list[_Piece] = []
    for piece in reversed(pieces):
        if budget <= 0:
            break
        if piece.tokens <= budget:
            tail.append(piece)
            budget -= piece.tokens
            continue
        if tail:  # whole pieces already overlap; a fragment would start mid-sentence
            break
        cut = _trailing_text(piece.text, budget)
        if cut:
            tail.append(
                _Piece(cut, count_tokens(cut), piece.page, piece.section, piece.heading, True)
            )
        break
    tail.reverse()
    return tail


def _trailing_text(text: str, budget: int) -> str:
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    kept: list[str] = []
    for sentence in reversed(sentences):
        cost = count_tokens(sentence)
        if cost > budget:
            break
        kept.append(sentence.strip())
        budget -= cost
    if kept:
        return " ".join(reversed(kept))
    words = text.split()
    # ~1.3 tokens per word, so this many trailing words fit the budget.
    return " ".join(words[-max(1, budget * 10 // 13) :]) if budget > 1 else ""


def _to_chunk(index: int, pieces: list[_Piece]) -> Chunk:
    parts = [pieces[0].text]
    for piece in pieces[1:]:
        parts.append(("\n\n" if piece.paragraph_start else " ") + piece.text)
    return Chunk(
        index=index,
        text="".join(parts),
        token_count=sum(p.tokens for p in pieces),
        page=pieces[0].page,
        heading=pieces[0].heading,
    )
