"""Hybrid retrieval: reciprocal-rank fusion of a dense (vector) and a lexical (keyword) list.

Pure functions; the agent fetches both lists (see `RagAgent.retrieve`) and this decides the
order. RRF (Cormack et al., 2009) adds 1 / (k + rank) over the lists a candidate appears in,
so it needs no calibration between cosine scores and BM25 scores, and a chunk found by both
ranks above one found by either alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

RetrievalMode = Literal["hybrid", "semantic", "keyword"]
RRF_K = 60

# (query, limit) -> vector ids whose text matches a content word of the query, best first.
LexicalSearch = Callable[[str, int], Awaitable[Sequence[str]]]


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    fused_score: float
    dense_score: float | None = None  # cosine similarity, when the vector search found it
    lexical_rank: int | None = None  # 1 = the best keyword match, when the index found it


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
