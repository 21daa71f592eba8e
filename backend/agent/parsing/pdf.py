"""PDF text extraction with pypdf: per-page text, bounded in pages, decoding work and time."""

from __future__ import annotations

import io
import logging

from pypdf import PasswordType, PdfReader, apply_configuration
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

from agent.errors import ParseError
from agent.parsing._limits import (
    MAX_PAGE_CHARS,
    NO_TEXT,
    Deadline,
    StepTimeout,
    clean_text,
    time_limit,
)
from agent.types import Page, ParsedDocument

logger = logging.getLogger(__name__)

# Tighter than pypdf's defaults (75 MB per stream): text pages never need that much, and a
# decompression bomb should fail fast. jbig2dec is disabled so parsing never shells out.
_LIMITS = {
    "zlib_maximum_output_length": 32_000_000,
    "lzw_maximum_output_length": 32_000_000,
    "run_length_maximum_output_length": 32_000_000,
    "array_based_stream_maximum_output_length": 32_000_000,
    "brotli_maximum_output_length": 32_000_000,
    "image_maximum_buffer_size": 32_000_000,
    "jbig2dec_binary": None,
}
_PAGE_SECONDS = 20.0
UNSUPPORTED_ENCRYPTION = "PDF uses an unsupported encryption method"


class PdfParser:
    """`pages` (first, last; 1-based, inclusive) reads only that range: one part of a long
    PDF, whose emptiness is no error (the whole document decides). `split_above` returns,
    for a PDF with more pages than that, only its page count (`unparsed_page_count`)."""

    def __init__(
        self,
        *,
        max_pages: int = 2000,
        timeout_seconds: float = 120.0,
        pages: tuple[int, int] | None = None,
        split_above: int | None = None,
    ) -> None:
        self.max_pages = max_pages
        self.timeout_seconds = timeout_seconds
        self.pages = pages
        self.split_above = split_above

    def parse(self, data: bytes) -> ParsedDocument:
        deadline = Deadline(self.timeout_seconds)
        with apply_configuration(**_LIMITS):
            reader = _open(data)
            _unlock(reader)
            count = _page_count(reader)
            if count > self.max_pages:
                raise ParseError(f"PDF has {count} pages; the limit is {self.max_pages} pages")
            if self.pages is None and self.split_above is not None and count > self.split_above:
                return ParsedDocument(pages=[], title=_title(reader), unparsed_page_count=count)
            first, last = self.pages or (1, count)
            failures: list[str] = []
            pages = [
                Page(number, text)
                for number, text in self._extract(
                    reader, range(first - 1, min(last, count)), deadline, failures
                )
            ]
        if self.pages is not None:
            return ParsedDocument(pages=pages)
        if not pages and failures:
            raise ParseError(
                f"no page could be read ({len(failures)} of {count} failed; "
                f"the first: {failures[0]})"
            )
        if not pages:
            raise ParseError(NO_TEXT)
        return ParsedDocument(pages=pages, title=_title(reader))

    def _extract(self, reader: PdfReader, indexes: range, deadline: Deadline, failures: list[str]):
        """Yield (number, text) for pages with text; a page that fails is skipped, not fatal,
        and its reason goes to `failures`."""
        for index in indexes:
            deadline.check()
            try:
                with time_limit(min(_PAGE_SECONDS, max(deadline.remaining(), 0.01))):
                    raw = reader.pages[index].extract_text()
            except StepTimeout:
                logger.warning("pdf page %d: text extraction timed out", index + 1)
                failures.append(f"page {index + 1} took over {_PAGE_SECONDS:g} seconds")
                continue
            except MemoryError:
                raise  # the memory limit is the file's, not the page's
            except Exception as exc:  # noqa: BLE001 - one bad page must not fail the file
                logger.warning("pdf page %d: %s", index + 1, _reason(exc))
                failures.append(f"page {index + 1}: {_reason(exc)}")
                continue
            text = clean_text(raw[:MAX_PAGE_CHARS])
            if text:
                yield index + 1, text
            elif reason := _unreadable_content(reader, index):
                failures.append(f"page {index + 1}: {reason}")


def _unreadable_content(reader: PdfReader, index: int) -> str | None:
    """Why an empty page's content could not be read, when it is a limit: pypdf's text
    extraction swallows that and returns nothing, as for a scanned page."""
    try:
        contents = reader.pages[index].get_contents()
        if contents is not None:
            contents.get_data()
    except LimitReachedError:
        mb = _LIMITS["zlib_maximum_output_length"] // 1_000_000
        return f"its content inflates past the {mb} MB limit"
    except Exception:  # noqa: BLE001 - anything else: an empty page, as pypdf said
        return None
    return None


def _open(data: bytes) -> PdfReader:
    try:
        return PdfReader(io.BytesIO(data))
    except NotImplementedError as exc:  # pypdf's word for an encryption it doesn't know
        if "encrypt" in str(exc).lower():
            raise ParseError(UNSUPPORTED_ENCRYPTION) from exc
        raise ParseError(f"PDF uses a feature that can't be read: {_reason(exc)}") from exc
    except (
        PdfReadError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        RecursionError,
        OSError,
        AssertionError,
    ) as exc:
        raise ParseError(f"PDF is damaged: {_reason(exc)}") from exc


def _unlock(reader: PdfReader) -> None:
    """Open files that are encrypted with an empty user password; refuse the rest."""
    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except (DependencyError, NotImplementedError) as exc:
        raise ParseError(UNSUPPORTED_ENCRYPTION) from exc
    except Exception as exc:
        raise ParseError(f"PDF is damaged: {_reason(exc)}") from exc
    if not unlocked:
        raise ParseError("PDF is password-protected")


def _page_count(reader: PdfReader) -> int:
    try:
        return len(reader.pages)
    except FileNotDecryptedError as exc:
        raise ParseError("PDF is password-protected") from exc
    except Exception as exc:
        raise ParseError(f"PDF is damaged: {_reason(exc)}") from exc


def _title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - metadata is optional; never fail the document on it
        return None
    if not title:
        return None
    return clean_text(str(title))[:300] or None


def _reason(exc: BaseException) -> str:
    """A short, single-line reason for the owner; the full error goes to the logs."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
