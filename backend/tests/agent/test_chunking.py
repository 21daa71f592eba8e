from __future__ import annotations

import itertools

import pytest

from agent.chunking import Chunker, count_tokens
from agent.types import Page


def _sentences(n: int, start: int = 0) -> str:
    return " ".join(f"Fact number {i} is about topic {i % 7}." for i in range(start, start + n))


def test_chunks_stay_within_the_token_budget() -> None:
    pages = [Page(1, "\n\n".join(_sentences(30, i * 30) for i in range(10)))]
    chunks = Chunker(chunk_tokens=120, overlap_tokens=20).split(pages)
    assert len(chunks) > 5
    assert all(c.token_count <= 120 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_consecutive_chunks_overlap_by_whole_sentences() -> None:
    chunks = Chunker(chunk_tokens=100, overlap_tokens=25).split([Page(1, _sentences(60))])
    for previous, current in itertools.pairwise(chunks):
        first_sentence = current.text.split(". ")[0] + "."
        assert first_sentence.startswith("Fact number")
        assert first_sentence in previous.text


def test_headings_start_chunks_and_label_them() -> None:
    text = f"# Billing\n\n{_sentences(3)}\n\n## Refunds\n\n{_sentences(40)}\n\n## Taxes\n\nVAT applies."
    chunks = Chunker(chunk_tokens=120, overlap_tokens=20).split([Page(1, text)])
    assert chunks[0].heading == "Billing" and chunks[0].text.startswith("# Billing")
    refunds = [c for c in chunks if c.heading == "Refunds"]
    assert len(refunds) >= 2 and refunds[0].text.startswith("## Refunds")
    assert chunks[-1].heading == "Taxes" and "VAT applies." in chunks[-1].text
    # No chunk mixes two sections.
    assert not any("Fact number 0" in c.text and "VAT" in c.text for c in chunks)


def test_chunks_remember_the_page_they_start_on() -> None:
    pages = [Page(1, _sentences(20)), Page(2, _sentences(20, 20)), Page(3, "The end.")]
    chunks = Chunker(chunk_tokens=90, overlap_tokens=0).split(pages)
    for chunk in chunks[:-1]:
        first_fact = int(chunk.text.split()[2])
        assert chunk.page == (1 if first_fact < 20 else 2)
    assert {c.page for c in chunks} == {1, 2, 3}


def test_run_on_text_without_punctuation_is_split_by_words() -> None:
    text = " ".join(f"cell{i}" for i in range(2000))
    chunks = Chunker(chunk_tokens=100, overlap_tokens=10).split([Page(1, text)])
    assert all(c.token_count <= 100 for c in chunks)
    assert "cell1999" in chunks[-1].text


def test_output_is_deterministic() -> None:
    pages = [Page(1, f"# A\n\n{_sentences(50)}"), Page(2, _sentences(50, 50))]
    first = Chunker().split(pages)
    assert first == Chunker().split(pages)


def test_empty_pages_give_no_chunks() -> None:
    assert Chunker().split([Page(1, ""), Page(2, "  \n\n ")]) == []


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("hello", 2), ("Hello, world!", 5)])
def test_token_estimate(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens


def test_a_long_document_chunks_within_budget_on_every_page() -> None:
    # ~200 pages of prose (its speed is bench/ingest.py's, not a unit test's).
    pages = [
        Page(n, "\n\n".join(_sentences(12, n * 100 + k * 12) for k in range(6)))
        for n in range(1, 201)
    ]
    chunks = Chunker().split(pages)
    assert len(chunks) > 100
    assert all(c.token_count <= Chunker().chunk_tokens for c in chunks)
    assert {c.page for c in chunks} == set(range(1, 201))
