"""The embedded-default answerer: no language model, it quotes the passages that answer best.

It reads the question and the numbered context blocks from `Grounding` (a prompt's prose
instructions mean nothing to it), scores each sentence of each block by lexical overlap with
the question, and quotes the best ones in document order, cited as `[n]`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

from agent.chunking import count_tokens
from agent.embeddings._lexical import content_terms, question_terms, split_sentences
from agent.types import (
    ChatMessage,
    ContextBlock,
    Generation,
    GenerationConfig,
    Grounding,
    StreamChunk,
    Usage,
)

PREAMBLE = "I'm running without a language model, so here is what the documents say:"
NO_DOCUMENTS = (
    "I'm running without a language model, so I can only answer by quoting this bot's "
    "documents, and there are none to quote for this message."
)

_MIN_SENTENCE_WORDS = 3
# Sentences scoring below this share of the best one are noise next to it.
_RELATIVE_CUTOFF = 0.35
# Each step down the retrieval ranking costs this much of a sentence's score.
_RANK_DECAY = 0.15
_QUESTION_WEIGHT, _SELECTION_WEIGHT = 1.0, 0.5


# Words per streamed delta. Text that is already complete gains nothing from one event per
# word, and every event costs the server a write (measured in bench/http.py).
WORDS_PER_DELTA = 6


async def stream_words(text: str, usage: Usage) -> AsyncIterator[StreamChunk]:
    """Stream `text` a few words at a time (each delta keeps its trailing space), then the
    usage."""
    words = re.findall(r"\S+\s*", text)
    for start in range(0, len(words), WORDS_PER_DELTA):
        yield StreamChunk(delta="".join(words[start : start + WORDS_PER_DELTA]))
    yield StreamChunk(usage=usage, finish_reason="stop")


def terms(text: str) -> list[str]:
    """Stemmed content words, in order: retrieval's own (`content_terms`)."""
    return content_terms(text)


def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


@dataclass(frozen=True, slots=True)
class _Candidate:
    block: int  # the block's number, as cited
    position: int  # the sentence's index inside its block
    text: str
    score: float


class InstantLLM:
    """An LLM that computes its whole answer at once, then streams it a word at a time."""

    provider: str

    def compose(
        self,
        messages: Sequence[ChatMessage],
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None,
    ) -> str:
        raise NotImplementedError

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> Generation:
        text = self.compose(messages, system, config, grounding)
        usage = estimate_usage(system, messages, text)
        return Generation(text=text, usage=usage, finish_reason="stop")

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None = None,
    ) -> AsyncIterator[StreamChunk]:
        text = self.compose(messages, system, config, grounding)
        async for chunk in stream_words(text, estimate_usage(system, messages, text)):
            yield chunk


class LocalAnswerer(InstantLLM):
    provider = "local"

    def __init__(self, *, max_sentences: int = 4, max_chars: int = 1200) -> None:
        self._max_sentences = max_sentences
        self._max_chars = max_chars

    def compose(
        self,
        messages: Sequence[ChatMessage],
        system: str,
        config: GenerationConfig,
        grounding: Grounding | None,
    ) -> str:
        return self.answer_text(grounding)

    def answer_text(self, grounding: Grounding | None) -> str:
        if grounding is None or not grounding.blocks:
            return NO_DOCUMENTS
        chosen = self._select(grounding) or self._opening_of_best_block(grounding.blocks)
        paragraphs = []
        in_order = sorted(chosen, key=lambda c: (c.block, c.position))
        for number in sorted({c.block for c in chosen}):
            quoted = " ".join(c.text for c in in_order if c.block == number)
            paragraphs.append(f"{_clip(quoted, self._max_chars)} [{number}]")
        return "\n\n".join([PREAMBLE, *paragraphs])

    def _select(self, grounding: Grounding) -> list[_Candidate]:
        """The best-scoring sentences that fit the budget; empty when no sentence matches."""
        candidates = [c for c in _score_sentences(grounding) if c.score > 0]
        if not candidates:
            return []
        candidates.sort(key=lambda c: (-c.score, c.block, c.position))
        floor = candidates[0].score * _RELATIVE_CUTOFF
        chosen: list[_Candidate] = []
        used = 0
        for candidate in candidates:
            if candidate.score < floor or len(chosen) == self._max_sentences:
                break
            if chosen and used + len(candidate.text) > self._max_chars:
                continue
            chosen.append(candidate)
            used += len(candidate.text)
        return chosen

    def _opening_of_best_block(self, blocks: Sequence[ContextBlock]) -> list[_Candidate]:
        """Retrieval judged block 1 relevant even without shared words (semantic embeddings)."""
        first = blocks[0]
        chosen, used = [], 0
        for position, sentence in enumerate(split_sentences(first.text)[:2]):
            if chosen and used + len(sentence) > self._max_chars:
                break
            chosen.append(_Candidate(first.number, position, sentence, 0.0))
            used += len(sentence)
        return chosen


def _clip(text: str, limit: int) -> str:
    """Cut at a word boundary: one unpunctuated "sentence" (a table, a dump) can be huge."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def _score_sentences(grounding: Grounding) -> Iterable[_Candidate]:
    weights = _query_weights(grounding)
    question_bigrams = _bigrams(question_terms(grounding.question))
    idf = _idf(grounding.blocks)
    for rank, block in enumerate(grounding.blocks):
        prior = 1.0 / (1.0 + _RANK_DECAY * rank)
        for position, sentence in enumerate(split_sentences(block.text)):
            words = terms(sentence)
            if len(sentence.split()) < _MIN_SENTENCE_WORDS or not words:
                continue
            overlap = sum(idf.get(t, 0.0) * weights[t] for t in set(words) if t in weights)
            shared_pairs = question_bigrams & _bigrams(words)
            bonus = sum(idf.get(a, 0.0) + idf.get(b, 0.0) for a, b in shared_pairs) / 2
            # Long run-on "sentences" (tables, unpunctuated text) match by sheer size.
            length_penalty = 1.0 + max(0, len(words) - 30) / 30
            score = prior * (overlap + bonus) / length_penalty
            yield _Candidate(block.number, position, sentence, score)


def _query_weights(grounding: Grounding) -> dict[str, float]:
    """Question words count fully; words of the visitor's highlighted text count half."""
    weights = dict.fromkeys(terms(grounding.selected_text or ""), _SELECTION_WEIGHT)
    weights.update(dict.fromkeys(question_terms(grounding.question), _QUESTION_WEIGHT))
    return weights


def _idf(blocks: Sequence[ContextBlock]) -> dict[str, float]:
    """BM25-style IDF over the given blocks: words found in every block still count a little."""
    document_frequency: dict[str, int] = {}
    for block in blocks:
        for term in set(terms(block.text)):
            document_frequency[term] = document_frequency.get(term, 0) + 1
    n = len(blocks)
    return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in document_frequency.items()}


def estimate_usage(system: str, messages: Sequence[ChatMessage], text: str) -> Usage:
    """A deterministic estimate: there is no tokenizer to ask."""
    prompt = count_tokens(system) + sum(count_tokens(m.content) for m in messages)
    return Usage(prompt_tokens=prompt, completion_tokens=count_tokens(text))
