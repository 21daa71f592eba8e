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

# Function words of other common languages (German, French, Spanish, Italian, Portuguese,
# Dutch): articles, pronouns, prepositions, auxiliaries and question words. Only
# `question_terms` drops them, and only from a question with no English function word, so that
# "Wie kann ich mein Passwort ändern?" is about "passwort ändern" while "os", "del", "die" or
# "mit" in an English question about Python, Perl or licences keep their meaning. The
# embedder's features and the keyword index are left as they were. Words that are also
# common English content words ("war", "bin", "man", "con", "come", "ton", "hay", "dos") are
# not in the list.
OTHER_FUNCTION_WORDS = frozenset(
    """
    der die das den dem des ein eine einen einem einer und oder ist sind wie was wo wann warum
    welche welcher welches ich du er sie es wir ihr mein meine meinen meinem mich mir dein ihre
    ihren ihrem kann können muss müssen soll sollte wird werden habe hat haben mit von zu zum
    zur für auf aus bei nach im ins um nicht kein keine auch noch sich wenn dass ob gibt wer
    wen wem de le la les un une et est sont pour dans sur avec que qui ce cette ces mon ma mes
    ta combien tes votre vos notre nos je tu il elle nous vous ils elles comment pourquoi quand
    quel quelle quels quelles puis peux peut pouvez faire fait se sa son ses au aux ne pas ou
    où si el los las una unos unas del y en por para mi mis su sus yo lo como cómo qué quién
    cuál cuándo dónde puedo puede al sí más este esta estos ese esa me te cuánto cuánta cuántos
    cuántas gli di da della dei delle che perché quale posso può mio mia miei mie ci ti non è
    os uma onde qual meu minha meus minhas com não em na no é het een hoe wat waar wanneer mijn
    kunnen voor met op niet
    """.split()
)


# Words that mark a text as English (none of them is a function word in the list above).
_ENGLISH = frozenset(
    "the is are do does did how what my you your and can of to with which why when where who "
    "this that it be have has for".split()
)


def content_terms(text: str) -> list[str]:
    """Stemmed content words, in order, for matching a question against passages.

    Stop words and single letters go; so do contractions' function words: "what's" and
    "it's" count as "what" and "it" (stop words), "operator's" as "operator", and "can't" or
    "doesn't" not at all. `tokenize` keeps them whole for the local embedder's features.
    """
    return _terms(tokenize(text), STOPWORDS)


def question_terms(question: str) -> list[str]:
    """`content_terms` of a question; when it has no English function word, the function
    words of the other languages in `OTHER_FUNCTION_WORDS` go too. Passages keep theirs:
    they only ever meet the question's words."""
    tokens = tokenize(question)
    if _ENGLISH.intersection(tokens):
        return _terms(tokens, STOPWORDS)
    return _terms(tokens, STOPWORDS | OTHER_FUNCTION_WORDS)


def _terms(tokens: list[str], stopwords: frozenset[str]) -> list[str]:
    out = []
    for token in tokens:
        head, *rest = _APOSTROPHE.split(token)
        if rest and rest[-1] == "t":  # n't: an auxiliary (can't, won't, doesn't)
            continue
        if head in stopwords:
            continue
        if len(head) > 1 or head.isdigit():
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
