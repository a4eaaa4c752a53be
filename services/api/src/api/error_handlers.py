"""How a failure becomes an answer: every error body is JSON with a ``detail``, a 503
tells the client when to retry, and an unexpected error is logged once, with its
traceback and the request id the client can quote."""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.database_errors import DATABASE_UNAVAILABLE, INTERNAL_ERROR, Answer, answer_for
from api.db.errors import DatabaseUnreachableError
from shared_models.logs import REQUEST_ID

log = logging.getLogger("api")

RETRY_AFTER_SECONDS = "5"


def error(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def respond(answer: Answer) -> JSONResponse:
    # Retry-After tells well-behaved clients to back off rather than hammer.
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if answer.retry else None
    return error(answer.status, answer.detail, headers)


async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, asyncpg.PostgresError)
    answer = answer_for(exc.sqlstate, exc.constraint_name, request.method == "DELETE")
    if answer is INTERNAL_ERROR:
        log.exception("unexpected database error", exc_info=exc)
    elif answer.status >= 500:
        log.warning("%s: %s", answer.detail, exc)
    return respond(answer)


async def on_unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unreachable: %r", exc.__cause__ or exc)
    return respond(DATABASE_UNAVAILABLE)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Logged once, here, with its traceback and the request id (api.observability).
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # The id lets a user quote the failure, and an operator find its log line.
    return JSONResponse(
        {"detail": INTERNAL_ERROR.detail, "request_id": REQUEST_ID.get()},
        status_code=INTERNAL_ERROR.status,
    )


def install_error_handlers(app: FastAPI) -> None:
    # Every error PostgreSQL reports (SQLSTATE and constraint), a lost connection included.
    app.add_exception_handler(asyncpg.PostgresError, on_database_error)
    app.add_exception_handler(DatabaseUnreachableError, on_unreachable)
    app.add_exception_handler(Exception, on_unexpected)
