"""Domain errors and the one error envelope every error path answers with.

Services raise `AppError` subclasses (never HTTPException); the handlers here map
them, validation errors, unknown routes and crashes to
`{"error": {"code", "message", "details", "request_id"}}`.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent import errors as agent_errors
from app.core.logging import get_logger

log = get_logger(__name__)


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request could not be processed."
    # Keep the transaction's work although the request fails (e.g. revoking a token family).
    commit_on_raise: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "Conflict."


class Unauthorized(AppError):
    status_code = 401
    code = "not_authenticated"
    message = "Authentication required."

    def __init__(self, message: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests. Try again later."

    def __init__(
        self, retry_after: int, message: str | None = None, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(
            message,
            details={"retry_after": retry_after},
            headers={**(headers or {}), "Retry-After": str(retry_after)},
        )


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "The service is temporarily unavailable."


class InternalError(AppError):
    status_code = 500
    code = "internal_error"
    message = "Something went wrong on our side."


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    message = "The database is unreachable. Try again in a moment."

    def __init__(self) -> None:
        super().__init__(details={"retry_after": 1}, headers={"Retry-After": "1"})


# --- Agent failures, mapped here and nowhere else ----------------------------------------
# Their message is the agent's person-safe text; the upstream detail is only logged.


class LLMRateLimited(AppError):
    status_code = 503
    code = "llm_rate_limited"
    message = "The language model is receiving too many requests. Please try again shortly."


class LLMTimeout(AppError):
    status_code = 504
    code = "llm_timeout"
    message = "The language model took too long to answer."


class LLMFailed(AppError):
    status_code = 502
    code = "llm_error"
    message = "The language model could not answer this request."


class EmbeddingModelMismatch(Conflict):
    code = "embedding_model_mismatch"
    message = (
        "This bot's documents were indexed with a different embedding model. "
        "Reindex its documents to search them."
    )


# Sent when a rate-limited provider gave no Retry-After of its own.
DEFAULT_RETRY_AFTER_SECONDS = 5


def from_agent_error(exc: agent_errors.AgentError) -> AppError:
    """The HTTP error for an agent failure: 429 → 503, timeout → 504, anything else → 502."""
    if isinstance(exc, agent_errors.EmbeddingModelMismatch):
        return EmbeddingModelMismatch(
            details={
                "bot_embedding_model": exc.indexed_with,
                "current_embedding_model": exc.querying_with,
            }
        )
    if isinstance(exc, agent_errors.RateLimited):
        seconds = math.ceil(exc.retry_after or DEFAULT_RETRY_AFTER_SECONDS)
        return LLMRateLimited(
            exc.message, details={"retry_after": seconds}, headers={"Retry-After": str(seconds)}
        )
    if isinstance(exc, agent_errors.LLMTimeout):
        return LLMTimeout(exc.message)
    return LLMFailed(exc.message)


# The OpenAI-compatible routes answer errors in OpenAI's shape, with the same status codes.
OPENAI_PREFIX = "/api/v1/openai/"
_OPENAI_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "insufficient_quota",
    403: "permission_error", 404: "invalid_request_error", 409: "invalid_request_error",
    413: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error",
}  # fmt: skip


def _openai_shape(
    status_code: int, code: str, message: str, details: dict[str, Any] | None, rid: str | None
) -> dict[str, Any]:
    errors = (details or {}).get("errors") or [{}]
    loc = errors[0].get("loc") or []
    param = ".".join(str(p) for p in loc[1:]) or None
    fallback = "api_error" if status_code >= 500 else "invalid_request_error"
    kind = _OPENAI_TYPES.get(status_code, fallback)
    return {"message": message, "type": kind, "param": param, "code": code, "request_id": rid}


def openai_error(error: AppError) -> dict[str, Any]:
    """An error inside a stream that has started, in OpenAI's shape."""
    shape = _openai_shape(error.status_code, error.code, error.message, error.details, None)
    return {"error": shape}


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(
    request: Request,
    status_code: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    rid = request_id_of(request)
    body: dict[str, Any] = {
        "error": {"code": code, "message": message, "details": details or {}, "request_id": rid}
    }
    if request.url.path.startswith(OPENAI_PREFIX):  # what OpenAI clients know how to read
        body = {"error": _openai_shape(status_code, code, message, details, rid)}
    all_headers = {**(headers or {}), **({"X-Request-ID": rid} if rid else {})}
    return JSONResponse(body, status_code=status_code, headers=all_headers)


async def _app_error(request: Request, exc: AppError) -> JSONResponse:
    return error_response(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]) for e in errors)
    message = f"Invalid request: check {fields}." if fields else "Invalid request."
    return error_response(request, 422, "validation_error", message, {"errors": errors})


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    phrase = (
        HTTPStatus(exc.status_code).phrase
        if exc.status_code in HTTPStatus._value2member_map_
        else ""
    )
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else f"{phrase}."
    if exc.status_code == 404 and message == "Not Found.":
        message = "No such route."
    return error_response(request, exc.status_code, code, message, headers=dict(exc.headers or {}))


async def _agent_error(request: Request, exc: agent_errors.AgentError) -> JSONResponse:
    error = from_agent_error(exc)
    log.warning(
        "agent_error",
        code=error.code,
        error_type=type(exc).__name__,
        detail=exc.detail,
        request_id=request_id_of(request),
    )
    return await _app_error(request, error)


async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if not exc.connection_invalidated:
        return await _unhandled(request, exc)
    # A dropped connection: the pool replaces every connection made before it, so the
    # next request gets a fresh one. This request can only be retried by the client.
    log.warning("database_connection_lost", request_id=request_id_of(request), error=str(exc))
    return await _app_error(request, DatabaseUnavailable())


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # The request id goes with the traceback, so a 500 the client saw can be found in the log.
    log.error(
        "unhandled_error",
        path=request.url.path,
        error_type=type(exc).__name__,
        request_id=request_id_of(request),
        exc_info=exc,
    )
    return error_response(request, 500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)  # type: ignore[arg-type]
    app.add_exception_handler(agent_errors.AgentError, _agent_error)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _database_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unhandled)
