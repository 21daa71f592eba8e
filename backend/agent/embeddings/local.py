"""A local, deterministic lexical embedder: signed feature hashing in pure Python and NumPy.

Each text becomes a sparse bag of features hashed into `dimensions` buckets:
- stemmed content words (stopwords dropped), sublinear tf: the main signal;
- pairs of neighbouring content words, so "reset password" beats either word alone;
- character 3-5-grams of each word at low weight, which catch spelling variants and
  compounds that stemming misses.
Each feature adds +w or -w to its bucket (the sign comes from the hash), so collisions
cancel out on average instead of piling up. Vectors are L2-normalised, so the dot product
is a cosine similarity between tf-weighted bags of words.

Corpus statistics (IDF) cannot live in a stateless embedder; `LocalVectorStore` applies them
when it ranks these sparse vectors. 1024 dimensions keep hashing collisions low enough to
match BM25 on 450-token chunks (tests/agent/test_embeddings.py holds the comparison).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from agent.embeddings._lexical import STOPWORDS, stem, tokenize
from agent.types import EmbeddingTask

DEFAULT_DIMENSIONS = 1024
_WORD_WEIGHT = 1.0
_PAIR_WEIGHT = 0.5
# Spread over all n-grams of a word: a word's n-grams together weigh this much.
_NGRAM_WEIGHT = 0.35
_NGRAM_SIZES = (3, 4, 5)


class LocalEmbedder:
    provider = "local"
    model = "local-hash-v1"

    def __init__(self, dimensions: int = DEFAULT_DIMENSIONS) -> None:
        if dimensions < 64:
            raise ValueError("dimensions must be at least 64")
        self.dimensions = dimensions
        # Per-instance caches: dimensions decide bucket numbers, so they cannot be shared.
        self._bucket = lru_cache(maxsize=500_000)(self._bucket_uncached)
        self._ngrams = lru_cache(maxsize=200_000)(self._ngrams_uncached)

    async def embed(self, texts: Sequence[str], task: EmbeddingTask) -> list[list[float]]:
        # Query and document share one space: lexical features mean the same on both sides.
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """The embeddings as a float32 matrix, one L2-normalised row per text (zero for empty text)."""
        matrix = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            matrix[row] = self._vector(text)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return matrix

    def _vector(self, text: str) -> np.ndarray:
        words = [w for w in tokenize(text) if w not in STOPWORDS]
        stems = [stem(w) for w in words]
        features = [("w" + s, count, _WORD_WEIGHT) for s, count in Counter(stems).items()]
        pairs = Counter(f"p{a} {b}" for a, b in itertools.pairwise(stems))
        features += [(pair, count, _PAIR_WEIGHT) for pair, count in pairs.items()]

        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for word, count in Counter(words).items():
            idx, val = self._ngrams(word)
            indices.append(idx)
            values.append(val * (1.0 + math.log(count)))
        buckets = [self._bucket(feature) for feature, _, _ in features]
        indices.append(np.fromiter((b for b, _ in buckets), dtype=np.intp, count=len(buckets)))
        # Sublinear tf: the tenth mention of a word says less than the first.
        values.append(
            np.fromiter(
                (
                    sign * weight * (1.0 + math.log(count))
                    for (_, sign), (_, count, weight) in zip(buckets, features, strict=True)
                ),
                dtype=np.float64,
                count=len(buckets),
            )
        )
        return np.bincount(
            np.concatenate(indices), weights=np.concatenate(values), minlength=self.dimensions
        )

    def _bucket_uncached(self, feature: str) -> tuple[int, float]:
        # crc32 rather than hash(): Python's str hash changes between processes.
        h = zlib.crc32(feature.encode())
        return h % self.dimensions, (1.0 if h & 0x80000000 else -1.0)

    def _ngrams_uncached(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        padded = f"<{word}>"
        grams = ["#" + padded[i : i + n] for n in _NGRAM_SIZES for i in range(len(padded) - n + 1)]
        if not grams:
            return np.empty(0, dtype=np.intp), np.empty(0)
        buckets = [self._bucket(g) for g in grams]
        weight = _NGRAM_WEIGHT / math.sqrt(len(grams))
        return (
            np.fromiter((b for b, _ in buckets), dtype=np.intp, count=len(buckets)),
            np.fromiter((s * weight for _, s in buckets), dtype=np.float64, count=len(buckets)),
        )
