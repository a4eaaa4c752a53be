"""Turns database failures into exact HTTP answers, each with a JSON ``detail``.

The database enforces the rules (unique names, existing authors); this module only
translates what it says. That keeps them true under concurrency, where a
check-then-insert in Python would race.

Every error has an answer by its SQLSTATE (its class, or the code within it): any
unique violation is a 409, any check violation a 422, and so on, with a generic but
honest detail. ``CONSTRAINT_ANSWERS`` only refines the answer for a constraint the API
knows by name (see the naming convention in shared_models.base), so a constraint
added by a later revision is still answered correctly by older code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from api.schemas import ErrorOut
from shared_models.logs import REQUEST_ID

log = logging.getLogger("api")

RETRY_AFTER_SECONDS = "5"


@dataclass(frozen=True)
class Answer:
    status: int
    detail: str

    @property
    def retry(self) -> bool:
        return self.status == status.HTTP_503_SERVICE_UNAVAILABLE


SCHEMA_BEHIND = Answer(
    503,
    "database schema is behind this version of the API; run the migrator (alembic upgrade head)",
)
DATABASE_UNAVAILABLE = Answer(503, "database unavailable")
INTERNAL_ERROR = Answer(500, "Internal Server Error")

# Exact SQLSTATEs first, then their two-character class.
BY_SQLSTATE: dict[str, Answer] = {
    "23505": Answer(409, "conflicts with an existing resource"),  # unique_violation
    "23P01": Answer(409, "conflicts with an existing resource"),  # exclusion_violation
    "23503": Answer(409, "refers to a resource that does not exist"),  # foreign_key_violation
    "23514": Answer(422, "a value is outside what the data allows"),  # check_violation
    "23502": Answer(422, "a required value is missing"),  # not_null_violation
    "57014": Answer(503, "database did not answer in time"),  # query_canceled: statement_timeout
    "40001": Answer(503, "database busy; retry"),  # serialization_failure
    "40P01": Answer(503, "database busy; retry"),  # deadlock_detected
    "42703": SCHEMA_BEHIND,  # undefined_column
    "42P01": SCHEMA_BEHIND,  # undefined_table
}
BY_CLASS: dict[str, Answer] = {
    "22": Answer(422, "a value cannot be stored"),  # data exception: NUL, out of range, ...
    "08": DATABASE_UNAVAILABLE,  # connection exception
    "53": DATABASE_UNAVAILABLE,  # insufficient resources: too many connections, disk full
    "57": DATABASE_UNAVAILABLE,  # operator intervention: shutdown, restart
}
INTEGRITY_CONSTRAINT_VIOLATION = "23"
FOREIGN_KEY_VIOLATION = "23503"
# A parent deleted while rows still refer to it (a foreign key without ON DELETE CASCADE).
STILL_REFERENCED = Answer(409, "other resources still refer to it")

# constraint name -> answer, where the API knows better than the SQLSTATE's
CONSTRAINT_ANSWERS: dict[str, Answer] = {
    # Case-insensitive since revision c5b7e2f91d3a; the plain constraints before it are
    # still known, for a database rolled back past it.
    "uq_users_lower_username": Answer(409, "username is already taken"),
    "uq_users_lower_email": Answer(409, "email is already taken"),
    "uq_users_username": Answer(409, "username is already taken"),
    "uq_users_email": Answer(409, "email is already taken"),
    # Posts are created under /users/{user_id}: an unknown author is that URL's 404.
    "fk_posts_user_id_users": Answer(404, "User not found"),
}


class DatabaseUnreachableError(Exception):
    """Connecting failed: refused, timed out, no free pooled connection, or refused by
    the server (too many clients, starting up, bad password)."""


Found = TypeVar("Found")


def found(row: Found | None, what: str) -> Found:
    """The row, or a 404 saying what was not found."""
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")
    return row


def sqlstate_of(exc: BaseException) -> str | None:
    # asyncpg's errors (wrapped by SQLAlchemy's adapter, or raw) and psycopg's all say it.
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def constraint_of(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (exc, orig, getattr(orig, "__cause__", None), getattr(exc, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None) or getattr(
            getattr(candidate, "diag", None), "constraint_name", None
        )
        if name:
            return str(name)
    return None


def answer_for(sqlstate: str | None, constraint: str | None, deleting: bool = False) -> Answer:
    """The answer to a database error, from its SQLSTATE, refined by its constraint."""
    if sqlstate is None:
        return INTERNAL_ERROR
    if sqlstate == FOREIGN_KEY_VIOLATION and deleting:
        return STILL_REFERENCED
    if sqlstate.startswith(INTEGRITY_CONSTRAINT_VIOLATION) and constraint in CONSTRAINT_ANSWERS:
        return CONSTRAINT_ANSWERS[constraint]
    return BY_SQLSTATE.get(sqlstate) or BY_CLASS.get(sqlstate[:2]) or INTERNAL_ERROR


def error(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def respond(answer: Answer) -> JSONResponse:
    # Retry-After tells well-behaved clients to back off rather than hammer.
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if answer.retry else None
    return error(answer.status, answer.detail, headers)


async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # A foreign key broken by a DELETE is a parent others still refer to; by an INSERT
    # or UPDATE, a reference to something missing.
    answer = answer_for(sqlstate_of(exc), constraint_of(exc), request.method == "DELETE")
    if answer is INTERNAL_ERROR:
        log.exception("unexpected database error", exc_info=exc)
    elif answer.status >= 500:
        log.warning("%s: %s", answer.detail, exc)
    return respond(answer)


async def on_unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unreachable: %r", exc.__cause__ or exc)
    return respond(DATABASE_UNAVAILABLE)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Logged once, here, with its traceback and the request id (see api.telemetry).
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


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes a route can answer with."""
    descriptions = {
        400: "Body is not JSON text at all (e.g. not UTF-8); malformed JSON is a 422",
        404: "Not found",
        409: "Conflict with an existing resource",
        413: "Request body too large",
        503: "Database unavailable, too slow, or its schema is behind the API; "
        "retry after the Retry-After seconds",
    }
    responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": descriptions[code]} for code in codes
    }
    if 503 in responses:
        responses[503]["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        }
    return responses
