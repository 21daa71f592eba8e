"""Word normalisation for the local embedder, the answerer and retrieval: tokens, a light
stemmer, stopwords, content terms and sentences.

Deliberately small: the goal is that "cancelling", "cancelled" and "cancel" meet in one
feature, not linguistic accuracy. Query and document go through the same code, so an
imperfect stem still matches itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could did do does doing don down during
    each either else etc ever every few for from further get gets got had has have having he her
    here hers herself him himself his how however i if in into is isn it its itself just let
    may me might more most much must my myself need no nor not now of off often on once one only
    or other others our ours ourselves out over own per please rather same shall she should so
    some such than that the their theirs them themselves then there these they this those
    through to too under until up upon us use used using very via want was we were what when
    where whether which while who whom whose why will with within without would yes yet you
    your yours yourself yourselves s t ll ve re d m
    """.split()
)

# (suffix, replacement, minimum stem length left), tried in order; first match wins.
_SUFFIXES = (
    ("ational", "ate", 3),
    ("ization", "ize", 3),
    ("fulness", "ful", 3),
    ("iveness", "ive", 3),
    ("ations", "at", 3),
    ("ation", "at", 3),
    ("nesses", "", 4),
    ("ness", "", 4),
    ("ments", "", 4),
    ("ment", "", 4),
    ("ingly", "", 4),
    ("edly", "", 4),
    ("ities", "ity", 3),
    ("ies", "y", 3),
    ("ing", "", 3),
    ("ied", "y", 3),
    ("ed", "", 3),
    ("ly", "", 4),
    ("sses", "ss", 2),
    ("ches", "ch", 2),
    ("shes", "sh", 2),
    ("xes", "x", 2),
    ("ss", "ss", 2),
    ("us", "us", 2),
    ("is", "is", 2),
    ("s", "", 3),
)
_DOUBLE_END = re.compile(r"([bdfgmnprt])\1$")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light, deterministic English suffix stripper (plural, -ing, -ed, -ation, -ly, ...)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement, keep in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = word[: len(word) - len(suffix)] + replacement
            if suffix in ("ing", "ed", "ingly", "edly"):
                word = _DOUBLE_END.sub(r"\1", word)  # running -> run, stopped -> stop
            break
    return _normalise_ending(word)


def _normalise_ending(word: str) -> str:
    """Make inflected forms meet: create/created/creation -> creat, cancel/cancelled -> cancel."""
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ll"):
        word = word[:-1]
    if len(word) > 6 and word.endswith("at"):
        word = _normalise_ending(word[:-2])
    return word


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


_APOSTROPHE = re.compile(r"['’]")


def content_terms(text: str) -> list[str]:
    """Stemmed content words, in order, for matching a question against passages.

    Stop words and single letters go; so do contractions' function words: "what's" and
    "it's" count as "what" and "it" (stop words), "operator's" as "operator", and "can't" or
    "doesn't" not at all. `tokenize` keeps them whole for the local embedder's features.
    """
    out = []
    for token in tokenize(text):
        head, *rest = _APOSTROPHE.split(token)
        if rest and rest[-1] == "t":  # n't: an auxiliary (can't, won't, doesn't)
            continue
        if head not in STOPWORDS and (len(head) > 1 or head.isdigit()):
            out.append(stem(head))
    return out


# A sentence ends at . ! or ? followed by space and something that can start a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; line breaks end sentences too (lists, headings, tables)."""
    sentences: list[str] = []
    for line in text.splitlines():
        sentences.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return sentences
