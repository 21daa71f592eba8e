"""Hostile files end with a reason within the deadline, and never take the caller's memory.

Each parse runs in a child process under PARSE_MEMORY_MB and PARSE_TIMEOUT_SECONDS; the
tests give it 192 MB and a few seconds, and read the child's peak memory back."""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from agent.parsing import parse_document, parse_isolated, sniff
from agent.parsing.sandbox import (
    MAX_LOGGED_WARNINGS,
    capped_warnings,
    isolation_available,
    run_isolated,
)
from agent.parsing.sniff import DOCX, HTML, PDF, PLAIN
from agent.settings import AgentSettings
from agent.types import Page, ParsedDocument
from tests.agent import hostile

pytestmark = pytest.mark.skipif(not isolation_available(), reason="parsing isolation is Linux's")

MEMORY_MB = 192
DEADLINE = 8.0
SETTINGS = AgentSettings(parse_memory_mb=MEMORY_MB, parse_timeout_seconds=DEADLINE)


def _mapped_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _assert_bounded(outcome) -> None:
    """Failed with a reason, within the deadline, its memory under the limit: the child
    may use what this process had mapped (shared or reused) plus PARSE_MEMORY_MB."""
    assert outcome.document is None and outcome.error, outcome
    assert outcome.seconds < DEADLINE + 2
    assert outcome.peak_rss_bytes is not None
    assert outcome.peak_rss_bytes < _mapped_bytes() + MEMORY_MB * 1024 * 1024


def test_a_docx_that_understates_its_inflated_size_fails_on_memory():
    data = hostile.docx_understating_its_size(inflated_mb=600)
    assert len(data) < 2 * 1024 * 1024
    assert sniff(data, "bomb.docx") == DOCX
    outcome = parse_isolated(data, DOCX, SETTINGS)
    _assert_bounded(outcome)
    assert f"more than {MEMORY_MB} MB of memory" in outcome.error


def test_a_docx_of_millions_of_empty_paragraphs_fails_on_memory():
    data = hostile.docx_of_empty_paragraphs(xml_mb=60)
    assert len(data) < 1024 * 1024
    outcome = parse_isolated(data, DOCX, SETTINGS)
    _assert_bounded(outcome)
    assert "memory" in outcome.error and "PARSE_MEMORY_MB" in outcome.error


def test_an_archive_that_inflates_past_the_cap_is_refused_while_counting():
    data = hostile.docx_of_empty_paragraphs(xml_mb=210)  # honest headers, 210 MB of XML
    outcome = parse_isolated(data, DOCX, AgentSettings(parse_memory_mb=1024))
    assert outcome.error and "too large once decompressed" in outcome.error


def test_deeply_nested_html_fails_at_once_with_its_reason():
    outcome = parse_isolated(hostile.html_nested(100_000), HTML, SETTINGS)
    _assert_bounded(outcome)
    assert "nested too deeply" in outcome.error
    assert outcome.seconds < 2


def test_html_of_many_paragraphs_is_read_within_the_deadline():
    # The tree-editing parser took 187 s on these 40k paragraphs; the deadline is 8 s.
    outcome = parse_isolated(hostile.html_paragraphs(40_000), HTML, SETTINGS)
    assert outcome.error is None and outcome.document is not None
    assert outcome.document.pages[0].text.count("Paragraph of text.") == 40_000


def test_text_that_mentions_the_pdf_header_stays_text():
    data = hostile.text_mentioning_pdf()
    assert sniff(data, None) == PLAIN
    assert sniff(data, "formats.txt") == PLAIN
    assert "%PDF-1.7" in parse_document(data, PLAIN, SETTINGS).pages[0].text
    # A real PDF with junk before its header still is one.
    assert sniff(b"\x00\x01junk\n" + hostile.pdf_with_unknown_encryption(), None) == PDF
    assert sniff(b"mail header\n%PDF-1.4\n1 0 obj\n<< >>\nendobj\n", None) == PDF


def test_a_pdf_with_an_encryption_method_pypdf_does_not_know_says_so():
    with pytest.raises(Exception, match="unsupported encryption method"):
        parse_document(hostile.pdf_with_unknown_encryption(), PDF, SETTINGS)


def test_the_deadline_kills_a_parse_that_never_returns():
    def spin() -> ParsedDocument:
        while True:
            pass

    started = time.monotonic()
    outcome = run_isolated(spin, timeout_seconds=1.0, memory_mb=MEMORY_MB)
    assert time.monotonic() - started < 3
    assert outcome.document is None
    assert "longer than 1 seconds" in outcome.error and "PARSE_TIMEOUT_SECONDS" in outcome.error


def test_the_memory_limit_stops_any_allocation_and_says_which_limit():
    def hoard() -> ParsedDocument:
        blocks = [bytearray(16 * 1024 * 1024) for _ in range(64)]  # 1 GB
        return ParsedDocument(pages=[Page(1, str(len(blocks)))])

    outcome = run_isolated(hoard, timeout_seconds=DEADLINE, memory_mb=MEMORY_MB)
    _assert_bounded(outcome)
    assert f"more than {MEMORY_MB} MB of memory (PARSE_MEMORY_MB)" in outcome.error


@pytest.mark.parametrize(
    ("signum", "reason"),
    [(signal.SIGSEGV, "parser stopped on this file (SIGSEGV)"), (signal.SIGKILL, "memory")],
)
def test_a_crashed_or_killed_parser_fails_the_file_not_the_caller(signum, reason):
    def crash() -> ParsedDocument:
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)  # no faulthandler dump in the test log
        os.kill(os.getpid(), signum)
        raise AssertionError("unreachable")

    outcome = run_isolated(crash, timeout_seconds=DEADLINE, memory_mb=MEMORY_MB)
    assert outcome.document is None and reason in outcome.error


def test_a_child_that_exits_without_its_result_fails_the_file():
    def leave() -> ParsedDocument:
        os._exit(3)

    outcome = run_isolated(leave, timeout_seconds=DEADLINE, memory_mb=MEMORY_MB)
    assert outcome.document is None and "(exit code 3)" in outcome.error


def test_a_large_result_comes_back_whole():
    text = "word " * 400_000
    outcome = run_isolated(
        lambda: ParsedDocument(pages=[Page(n, text) for n in range(1, 11)], title="Big"),
        timeout_seconds=DEADLINE,
        memory_mb=MEMORY_MB,
    )
    assert outcome.document is not None and outcome.error is None
    assert len(outcome.document.pages) == 10 and outcome.document.pages[9].text == text


def test_a_flood_of_parser_warnings_is_capped_with_a_count(caplog):
    caplog.set_level(logging.WARNING)
    with capped_warnings():
        for i in range(9_000):
            logging.getLogger("pypdf._reader").warning("broken object %d", i)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == MAX_LOGGED_WARNINGS + 1
    assert (
        lines[-1] == f"parser warnings not shown: {9_000 - MAX_LOGGED_WARNINGS} more for this file"
    )
    # Outside a parse, the loggers are as they were.
    assert logging.getLogger("pypdf").propagate and not logging.getLogger("pypdf").handlers


def test_a_pdf_page_that_inflates_past_the_stream_limit_fails_with_its_reason():
    data = hostile.pdf_with_a_content_bomb(inflated_mb=500)
    assert len(data) < 2 * 1024 * 1024
    outcome = parse_isolated(data, PDF, SETTINGS)
    _assert_bounded(outcome)
    assert "no page could be read" in outcome.error and "page 1" in outcome.error


def test_a_pdf_of_nested_dictionaries_ends_within_the_deadline_and_logs_little(caplog):
    data = hostile.pdf_with_nested_dictionaries()
    outcome = parse_isolated(data, PDF, SETTINGS)
    _assert_bounded(outcome)
    # In-process, where the log can be read: thousands of pypdf warnings, twenty shown.
    caplog.set_level(logging.WARNING)
    from agent.parsing import parser_for

    with capped_warnings():
        with pytest.raises(Exception):  # noqa: B017 - any reason; the log is the point
            parser_for(PDF, SETTINGS).parse(data)
    assert len(caplog.records) <= MAX_LOGGED_WARNINGS + 1
    assert caplog.records[-1].getMessage().startswith("parser warnings not shown")
