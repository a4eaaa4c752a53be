"""What each error PostgreSQL reports means to a client: a status and a ``detail``, by
its SQLSTATE (so a constraint added by a later revision is still answered rightly by
older code), refined for the constraints a resource knows by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import status


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

# A constraint's name -> its answer, where a resource knows better than the SQLSTATE.
ByConstraint = Mapping[str, Answer]


def answer_for(
    sqlstate: str | None,
    constraint: str | None,
    deleting: bool = False,
    by_constraint: ByConstraint | None = None,
) -> Answer:
    """The answer to a database error, from its SQLSTATE, refined by its constraint. A
    foreign key broken by a DELETE is a parent others still refer to; by an INSERT or
    UPDATE, a reference to something missing."""
    if sqlstate is None:
        return INTERNAL_ERROR
    if sqlstate == FOREIGN_KEY_VIOLATION and deleting:
        return STILL_REFERENCED
    known = by_constraint or {}
    if sqlstate.startswith(INTEGRITY_CONSTRAINT_VIOLATION) and constraint in known:
        return known[constraint or ""]
    return BY_SQLSTATE.get(sqlstate) or BY_CLASS.get(sqlstate[:2]) or INTERNAL_ERROR
