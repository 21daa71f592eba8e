"""Hybrid retrieval: reciprocal-rank fusion of a dense (vector) and a lexical (keyword) list,
then a proximity vote over the best candidates' text, and the question-level "no answer" test.

Pure functions; the agent fetches both lists (see `RagAgent.retrieve`) and this decides the
order. RRF (Cormack et al., 2009) adds 1 / (k + rank) over the lists a candidate appears in,
so it needs no calibration between cosine scores and BM25 scores, and a chunk found by both
ranks above one found by either alone.

Both indexes score a chunk as a bag of words. A question is usually answered by one or two
sentences that share several of its words, so the fused list's head gets a third vote
(`add_proximity_vote`): the chunks ranked by their best window of `WINDOW_SENTENCES`
consecutive sentences, scored by the question words it contains, each weighted by how rare it
is among those candidates. Chosen on the dev split of bench/retrieval.py.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from agent.embeddings._lexical import content_terms, question_terms, split_sentences, stem

RetrievalMode = Literal["hybrid", "semantic", "keyword"]
RRF_K = 60
WINDOW_SENTENCES = 2
PROXIMITY_DEPTH = 20  # how many of the fused list's best candidates get the proximity vote
# A question has an answer in the documents only when one retrieved passage contains at least
# this share of its content words (or, with a learned embedder, is close enough in meaning).
MIN_COVERAGE = 0.5
# Words that frame a question rather than name its subject ("how long does X take", "what
# does X mean"): the share is taken over the other words, when there are any.
QUESTION_FRAME = frozenset(
    stem(w) for w in "long many often take tell know explain mean way happen possible kind".split()
)

# (query, limit) -> vector ids whose text matches a content word of the query, best first.
LexicalSearch = Callable[[str, int], Awaitable[Sequence[str]]]


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    fused_score: float
    dense_score: float | None = None  # cosine similarity, when the vector search found it
    lexical_rank: int | None = None  # 1 = the best keyword match, when the index found it
    proximity_rank: int | None = None  # 1 = the best sentence window, among the head's chunks


def fuse(
    dense: Sequence[tuple[str, float]],
    lexical: Sequence[str],
    *,
    k: int = RRF_K,
    dense_weight: float = 1.0,
) -> list[Candidate]:
    """Both lists best first; the union, best first (ties: dense score, then id).
    `dense_weight` scales the vector list's votes against the keyword list's."""
    scores: dict[str, float] = {}
    dense_scores: dict[str, float] = {}
    ranks: dict[str, int] = {}
    for rank, (vector_id, score) in enumerate(dense, 1):
        if vector_id not in dense_scores:
            dense_scores[vector_id] = score
            scores[vector_id] = scores.get(vector_id, 0.0) + dense_weight / (k + rank)
    for rank, vector_id in enumerate(lexical, 1):
        if vector_id not in ranks:
            ranks[vector_id] = rank
            scores[vector_id] = scores.get(vector_id, 0.0) + 1.0 / (k + rank)
    ordered = sorted(scores, key=lambda i: (-scores[i], -dense_scores.get(i, -1.0), i))
    return [Candidate(i, scores[i], dense_scores.get(i), ranks.get(i)) for i in ordered]


def relevant(candidate: Candidate, mode: RetrievalMode, floor: float) -> bool:
    """A lexical match on a content word, or a dense score at the floor or above."""
    lexical_match = candidate.lexical_rank is not None and mode != "semantic"
    dense_match = (
        candidate.dense_score is not None and candidate.dense_score >= floor and mode != "keyword"
    )
    return lexical_match or dense_match


def add_proximity_vote(
    question: str,
    candidates: Sequence[tuple[Candidate, str]],
    *,
    k: int = RRF_K,
    weight: float = 1.0,
) -> list[tuple[Candidate, str]]:
    """(candidate, chunk text) pairs, best first, re-ordered after a third RRF vote: the
    chunks ranked by how well their best sentence window covers the question's rare words."""
    words = set(question_terms(question))
    if not words or len(candidates) < 2:
        return list(candidates)
    windows = [_windows(text, words) for _, text in candidates]
    frequency = {w: sum(1 for spans in windows if any(w in s for s in spans)) for w in words}
    n = len(candidates)
    idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}
    scores = [max((sum(idf[w] for w in span) for span in spans), default=0.0) for spans in windows]
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    ranks = {i: rank for rank, i in enumerate(order, 1) if scores[i] > 0}
    voted = [
        (
            replace(
                c, fused_score=c.fused_score + weight / (k + ranks[i]), proximity_rank=ranks[i]
            ),
            t,
        )
        if i in ranks
        else (c, t)
        for i, (c, t) in enumerate(candidates)
    ]
    return sorted(voted, key=lambda pair: -pair[0].fused_score)


def _windows(text: str, words: set[str]) -> list[set[str]]:
    """The question words in each run of `WINDOW_SENTENCES` consecutive sentences."""
    sentences = [words.intersection(content_terms(s)) for s in split_sentences(text)]
    if len(sentences) <= WINDOW_SENTENCES:
        return [set().union(*sentences)]
    return [
        set().union(*sentences[i : i + WINDOW_SENTENCES])
        for i in range(len(sentences) - WINDOW_SENTENCES + 1)
    ]


def coverage(question: str, text: str) -> float:
    """The share of the question's content words (stemmed, frame words aside) in `text`."""
    words = set(question_terms(question))
    words = (words - QUESTION_FRAME) or words
    if not words:
        return 0.0
    return len(words.intersection(content_terms(text))) / len(words)
