"""Errors raised by the agent library.

Callers decide what to do by class: `TransientError` may be retried later,
`PermanentError` will fail the same way again.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base class. `message` is safe to show to a person; upstream details are not."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class TransientError(AgentError):
    """A provider failure worth retrying: 429, 5xx, timeouts, connection errors."""

    def __init__(
        self, message: str, *, detail: str | None = None, retry_after: float | None = None
    ):
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """A provider answered 429; `retry_after` says when to come back, when it said so."""


class PermanentError(AgentError):
    """A failure that retrying will not fix: bad request, auth, unsupported input."""


class ParseError(PermanentError):
    """The document cannot be parsed; `message` tells the owner what to do."""


class EmbeddingModelMismatch(PermanentError):
    """A query would mix vectors from different embedding models."""

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        indexed_with: str | None = None,
        querying_with: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.indexed_with = indexed_with
        self.querying_with = querying_with


class LLMRateLimited(RateLimited):
    pass


class LLMTimeout(TransientError):
    pass


class LLMError(PermanentError):
    pass


class LLMBlocked(PermanentError):
    """The provider refused to answer for safety reasons."""
