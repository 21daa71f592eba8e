"""An in-memory, exact nearest-neighbour index over one namespace's vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.errors import EmbeddingModelMismatch

# An entry counts towards a bucket's document frequency when it stands this many times above
# the row's RMS: a word the chunk really contains, not hashing noise (tuned on the eval set).
_DF_THRESHOLD = 2.0


@dataclass(frozen=True, slots=True)
class Hit:
    position: int
    score: float


class VectorMatrix:
    """Unit vectors stored column-major (one row per dimension), so a sparse query only reads
    the rows of its non-zero dimensions instead of the whole matrix."""

    def __init__(self, ids: list[str], metadata: list[dict[str, Any]], vectors: np.ndarray) -> None:
        self.ids = ids
        self.metadata = metadata
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        self._by_dim = np.ascontiguousarray(vectors.T, dtype=np.float32)
        self._idf_pos, self._idf_neg = _signed_idf(vectors)

    @property
    def dimensions(self) -> int:
        return self._by_dim.shape[0]

    @property
    def nbytes(self) -> int:
        return self._by_dim.nbytes

    def __len__(self) -> int:
        return self._by_dim.shape[1]

    def search(self, query: Sequence[float], top_k: int) -> list[Hit]:
        if len(self) == 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        if q.shape != (self.dimensions,):
            raise EmbeddingModelMismatch(
                f"query has {q.size} dimensions but this namespace holds {self.dimensions}-dimension vectors"
            )
        k = min(top_k, len(self))
        if k <= 0 or not q.any():
            return []
        q = q / np.linalg.norm(q)
        nonzero = np.flatnonzero(q)
        if nonzero.size * 2 < q.size:
            return self._search_sparse(q, nonzero, k)
        cosine = q @ self._by_dim
        return [Hit(int(i), float(cosine[i])) for i in _top(cosine, k)]

    def _search_sparse(self, q: np.ndarray, nonzero: np.ndarray, k: int) -> list[Hit]:
        """Rank hashed lexical queries with IDF weights, but report the plain cosine.

        Only sparse (feature-hashed) vectors get this: there a bucket stands for a few words,
        so its document frequency says how common they are, which is what BM25 exploits.
        Dense model embeddings have no zero entries and are ranked by plain cosine above.
        Scores stay cosines so callers' relevance thresholds mean the same for every embedder.
        """
        rows = self._by_dim[nonzero]
        values = q[nonzero]
        idf = np.where(values > 0, self._idf_pos[nonzero], self._idf_neg[nonzero])
        ranked = _top((values * idf).astype(np.float32) @ rows, k)
        cosine = values @ rows[:, ranked]
        return [Hit(int(i), float(c)) for i, c in zip(ranked, cosine, strict=True)]


def _signed_idf(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Okapi-style IDF per (dimension, sign): signed hashing gives each word a sign too."""
    n = vectors.shape[0]
    if n == 0:
        return np.ones(vectors.shape[1], np.float32), np.ones(vectors.shape[1], np.float32)
    threshold = _DF_THRESHOLD * np.sqrt(np.mean(np.square(vectors), axis=1, keepdims=True))
    df_pos = np.count_nonzero(vectors > threshold, axis=0)
    df_neg = np.count_nonzero(vectors < -threshold, axis=0)

    def idf(df: np.ndarray) -> np.ndarray:
        return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)

    return idf(df_pos), idf(df_neg)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first (ties by position, so results are stable)."""
    if k < scores.size:
        candidates = np.argpartition(-scores, k - 1)[:k]
    else:
        candidates = np.arange(scores.size)
    return candidates[np.lexsort((candidates, -scores[candidates]))]
