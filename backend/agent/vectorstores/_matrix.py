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
    the rows of its non-zero dimensions instead of the whole matrix.

    `with_changes` applies a few rewritten, added or deleted rows without a full rebuild:
    rewrites in place, additions and deletions with one copy, and the IDF from updated
    document frequencies."""

    def __init__(self, ids: list[str], metadata: list[dict[str, Any]], vectors: np.ndarray) -> None:
        self.ids = ids
        self.metadata = metadata
        _normalise(vectors)
        self._by_dim = np.ascontiguousarray(vectors.T, dtype=np.float32)
        self._df_pos, self._df_neg = _document_frequencies(vectors)
        self._set_idf()
        self._positions: dict[str, int] | None = None

    @property
    def dimensions(self) -> int:
        return self._by_dim.shape[0]

    @property
    def nbytes(self) -> int:
        return self._by_dim.nbytes

    def __len__(self) -> int:
        return self._by_dim.shape[1]

    def with_changes(
        self,
        changed: set[str],
        ids: list[str],
        metadata: list[dict[str, Any]],
        vectors: np.ndarray,
    ) -> VectorMatrix:
        """This matrix (updated in place) after the `changed` ids took the given rows, their
        current state; a changed id without a row was deleted. New ids go last: a later full
        load orders by id, which only matters for exactly equal scores."""
        if len(self) == 0 or vectors.shape[1:] not in ((self.dimensions,), (0,)):
            return VectorMatrix(ids, metadata, vectors)
        positions = self._position_map()
        _normalise(vectors)
        rows = {id_: n for n, id_ in enumerate(ids)}
        gone = sorted(positions[i] for i in changed if i in positions and i not in rows)
        rewritten = [(positions[i], n) for i, n in rows.items() if i in positions]
        added = [n for i, n in rows.items() if i not in positions]

        old = [p for p, _ in rewritten] + gone
        if old:
            self._count(self._by_dim[:, old].T, -1)
        if rewritten:
            at, new = zip(*rewritten, strict=True)
            self._by_dim[:, list(at)] = vectors[list(new)].T
            for p, n in rewritten:
                self.metadata[p] = metadata[n]
            self._count(vectors[list(new)], +1)
        if gone:
            self._by_dim = np.delete(self._by_dim, gone, axis=1)
            gone_set = set(gone)
            self.ids = [i for p, i in enumerate(self.ids) if p not in gone_set]
            self.metadata = [m for p, m in enumerate(self.metadata) if p not in gone_set]
            self._positions = None
        if added:
            block = vectors[added]
            self._by_dim = np.concatenate([self._by_dim, block.T], axis=1)
            self.ids = self.ids + [ids[n] for n in added]
            self.metadata = self.metadata + [metadata[n] for n in added]
            self._count(block, +1)
            self._positions = None
        self._set_idf()
        return self

    def _position_map(self) -> dict[str, int]:
        if self._positions is None:
            self._positions = {id_: n for n, id_ in enumerate(self.ids)}
        return self._positions

    def _count(self, rows: np.ndarray, sign: int) -> None:
        df_pos, df_neg = _document_frequencies(rows)
        self._df_pos += sign * df_pos
        self._df_neg += sign * df_neg

    def _set_idf(self) -> None:
        n = len(self)

        def idf(df: np.ndarray) -> np.ndarray:
            return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)

        self._idf_pos, self._idf_neg = idf(self._df_pos), idf(self._df_neg)

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


def _normalise(vectors: np.ndarray) -> None:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)


def _document_frequencies(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (dimension, sign), how many rows hold an entry that stands out: signed hashing
    gives each word a sign too. Counts add up across row blocks, so rows can come and go."""
    if vectors.shape[0] == 0:
        width = vectors.shape[1]
        return np.zeros(width, np.int64), np.zeros(width, np.int64)
    threshold = _DF_THRESHOLD * np.sqrt(np.mean(np.square(vectors), axis=1, keepdims=True))
    df_pos = np.count_nonzero(vectors > threshold, axis=0).astype(np.int64)
    df_neg = np.count_nonzero(vectors < -threshold, axis=0).astype(np.int64)
    return df_pos, df_neg


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first (ties by position, so results are stable)."""
    if k < scores.size:
        candidates = np.argpartition(-scores, k - 1)[:k]
    else:
        candidates = np.arange(scores.size)
    return candidates[np.lexsort((candidates, -scores[candidates]))]
