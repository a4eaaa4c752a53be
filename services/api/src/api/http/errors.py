"""How a failure becomes an answer: every error body is JSON with a ``detail``, a 503
tells the client when to retry, and an unexpected error is logged once, with its
traceback and the request id the client can quote."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.db.errors import DatabaseUnreachableError
from api.http.database_errors import (
    DATABASE_UNAVAILABLE,
    INTERNAL_ERROR,
    Answer,
    ByConstraint,
    answer_for,
)
from shared_models.logs import REQUEST_ID

log = logging.getLogger("api")

RETRY_AFTER_SECONDS = "5"

# A 422 names what is wrong and where, in a small, fixed amount of text: no part of the
# input is echoed (a body may be a megabyte of one string), and a body with thousands
# of errors (every key of a huge object unknown) is reported by its first few.
MAX_ERRORS = 10
MAX_TEXT = 120


def error(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def respond(answer: Answer) -> JSONResponse:
    # Retry-After tells well-behaved clients to back off rather than hammer.
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if answer.retry else None
    return error(answer.status, answer.detail, headers)


def clipped(text: object) -> str:
    text = str(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def described(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Each error as the documented ValidationError: ``loc``, ``msg`` and ``type``,
    without pydantic's ``input`` and ``ctx`` (which carry the input itself, and values
    no encoder can write: NaN, a lone surrogate, a function)."""
    return [
        {
            "loc": [part if isinstance(part, int) else clipped(part) for part in error["loc"]],
            "msg": clipped(error["msg"]),
            "type": clipped(error["type"]),
        }
        for error in errors[:MAX_ERRORS]
    ]


async def on_invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": described(exc.errors())}, status_code=422)


def database_error_handler(
    by_constraint: ByConstraint,
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, asyncpg.PostgresError)
        deleting = request.method == "DELETE"
        answer = answer_for(exc.sqlstate, exc.constraint_name, deleting, by_constraint)
        if answer is INTERNAL_ERROR:
            log.exception("unexpected database error", exc_info=exc)
        elif answer.status >= 500:
            log.warning("%s: %s", answer.detail, exc)
        return respond(answer)

    return on_database_error


async def on_unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unreachable: %r", exc.__cause__ or exc)
    return respond(DATABASE_UNAVAILABLE)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Logged once, here, with its traceback and the request id.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # The id lets a user quote the failure, and an operator find its log line.
    return JSONResponse(
        {"detail": INTERNAL_ERROR.detail, "request_id": REQUEST_ID.get()},
        status_code=INTERNAL_ERROR.status,
    )


def install_error_handlers(app: FastAPI, by_constraint: ByConstraint) -> None:
    """``by_constraint``: the answers the resources give for their constraints by name."""
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    # Every error PostgreSQL reports (SQLSTATE and constraint), a lost connection included.
    app.add_exception_handler(asyncpg.PostgresError, database_error_handler(by_constraint))
    app.add_exception_handler(DatabaseUnreachableError, on_unreachable)
    app.add_exception_handler(Exception, on_unexpected)
