"""Turns database failures into exact HTTP answers, each with a JSON ``detail``.

The database enforces the rules (unique names, existing authors); this module only
translates what it says. That keeps them true under concurrency, where a
check-then-insert in Python would race.
"""

import logging
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.schemas import ErrorOut

log = logging.getLogger("api")

SCHEMA_BEHIND = (
    "database schema is behind this version of the API; run the migrator (alembic upgrade head)"
)
DATABASE_UNAVAILABLE = "database unavailable"

# constraint name (see the naming convention in shared_models.base) -> answer
CONSTRAINT_ANSWERS: dict[str, tuple[int, str]] = {
    "uq_users_username": (status.HTTP_409_CONFLICT, "username is already taken"),
    "uq_users_email": (status.HTTP_409_CONFLICT, "email is already taken"),
    "fk_posts_user_id_users": (status.HTTP_404_NOT_FOUND, "User not found"),
}

UNDEFINED_COLUMN = "42703"
UNDEFINED_TABLE = "42P01"
QUERY_CANCELED = "57014"  # statement_timeout
# Classes 08 (connection exception) and 57P (operator intervention: shutdown, restart).
UNAVAILABLE_PREFIXES = ("08", "57P")


Found = TypeVar("Found")


def found(row: Found | None, what: str) -> Found:
    """The row, or a 404 saying what was not found."""
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")
    return row


def sqlstate_of(exc: DBAPIError) -> str | None:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return str(code) if code else None


def constraint_of(exc: DBAPIError) -> str | None:
    # asyncpg reports it on the driver exception that SQLAlchemy's adapter wraps.
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None


def error(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def unavailable(detail: str) -> JSONResponse:
    # Retry-After tells well-behaved clients to back off rather than hammer.
    return error(status.HTTP_503_SERVICE_UNAVAILABLE, detail, {"Retry-After": "5"})


def answer_database_error(exc: DBAPIError) -> JSONResponse:
    constraint = constraint_of(exc)
    if constraint in CONSTRAINT_ANSWERS:
        return error(*CONSTRAINT_ANSWERS[constraint])
    sqlstate = sqlstate_of(exc)
    if sqlstate in (UNDEFINED_COLUMN, UNDEFINED_TABLE):
        log.error("schema behind the code: %s", exc.orig)
        return unavailable(SCHEMA_BEHIND)
    if exc.connection_invalidated or (sqlstate or "").startswith(UNAVAILABLE_PREFIXES):
        log.warning("database unavailable: %s", exc.orig)
        return unavailable(DATABASE_UNAVAILABLE)
    if sqlstate == QUERY_CANCELED:
        log.warning("statement timed out: %s", exc.statement)
        return unavailable("database did not answer in time")
    log.exception("unexpected database error", exc_info=exc)
    return error(status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error")


async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    return answer_database_error(exc)


async def on_unreachable(request: Request, exc: Exception) -> JSONResponse:
    # Refused or timed-out connects (OSError, TimeoutError) and an exhausted pool.
    log.warning("database unreachable: %r", exc)
    return unavailable(DATABASE_UNAVAILABLE)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, on_database_error)
    for unreachable in (OSError, TimeoutError, PoolTimeoutError):
        app.add_exception_handler(unreachable, on_unreachable)
    app.add_exception_handler(Exception, on_unexpected)


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes a route can answer with."""
    descriptions = {
        400: "Body is not JSON text at all (e.g. not UTF-8); malformed JSON is a 422",
        404: "Not found",
        409: "Conflict with an existing resource",
        413: "Request body too large",
        503: "Database unavailable, or its schema is behind the API",
    }
    return {code: {"model": ErrorOut, "description": descriptions[code]} for code in codes}
