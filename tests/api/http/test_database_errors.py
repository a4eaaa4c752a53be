"""Every database error has an answer (api.http.database_errors): by its SQLSTATE,
refined by a constraint a resource knows (api.main.CONSTRAINT_ANSWERS)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import CheckConstraint, ForeignKeyConstraint, UniqueConstraint
from sqlalchemy.engine import URL

from api.http.database_errors import Answer, answer_for
from api.main import CONSTRAINT_ANSWERS
from harness.databases import connect
from harness.processes import running_api
from harness.roles import as_owner
from shared_models import Base
from tests.api.factories import create_user, unique, user_body

UNIQUE, FOREIGN_KEY, CHECK = "23505", "23503", "23514"


def constraints() -> list[tuple[str, str]]:
    """(name, SQLSTATE of its violation) for every constraint and unique index of the models."""
    found = []
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                found.append((str(constraint.name), UNIQUE))
            elif isinstance(constraint, ForeignKeyConstraint):
                found.append((str(constraint.name), FOREIGN_KEY))
            elif isinstance(constraint, CheckConstraint):
                found.append((str(constraint.name), CHECK))
        found += [(str(index.name), UNIQUE) for index in table.indexes if index.unique]
    return sorted(found)  # the tables' sets of constraints have no stable order


@pytest.mark.parametrize(("name", "sqlstate"), constraints())
def test_every_constraint_of_the_models_has_a_refined_answer(name: str, sqlstate: str) -> None:
    answer = answer_for(sqlstate, name, by_constraint=CONSTRAINT_ANSWERS)
    assert answer.status in (404, 409, 422), (name, answer)
    # A client learns which rule it broke, not just that one exists.
    assert name in CONSTRAINT_ANSWERS, f"add {name} to its resource's CONSTRAINT_ANSWERS"


@pytest.mark.parametrize(
    ("sqlstate", "status", "detail"),
    [
        (UNIQUE, 409, "conflicts with an existing resource"),
        (FOREIGN_KEY, 409, "refers to a resource that does not exist"),
        (CHECK, 422, "a value is outside what the data allows"),
        ("23502", 422, "a required value is missing"),
        ("22021", 422, "a value cannot be stored"),  # e.g. a NUL byte in text
        ("22003", 422, "a value cannot be stored"),  # numeric out of range
        ("57014", 503, "database did not answer in time"),
        ("53300", 503, "database unavailable"),  # too many connections
        ("57P01", 503, "database unavailable"),  # admin shutdown
        ("08006", 503, "database unavailable"),
        ("40P01", 503, "database busy; retry"),
        ("42703", 503, "schema is behind"),
        ("42501", 500, "Internal Server Error"),  # insufficient privilege: our bug, not theirs
    ],
)
def test_a_constraint_the_api_does_not_know_still_gets_its_class_answer(
    sqlstate: str, status: int, detail: str
) -> None:
    answer = answer_for(sqlstate, "uq_added_by_a_later_revision")
    assert answer.status == status
    assert detail in answer.detail


def test_deleting_a_row_others_still_refer_to_is_409_whatever_the_constraint() -> None:
    for name in ("fk_posts_user_id_users", "fk_unknown"):
        answer = answer_for(FOREIGN_KEY, name, deleting=True, by_constraint=CONSTRAINT_ANSWERS)
        assert (answer.status, answer.detail) == (409, "other resources still refer to it")


@pytest.mark.parametrize(
    ("name", "answer"),
    [(name, answer) for name, answer in CONSTRAINT_ANSWERS.items() if name.startswith("uq_")],
)
def test_each_unique_rule_answers_with_its_own_field(name: str, answer: Answer) -> None:
    """uq_users_email says email, uq_users_username_key username, and so on: the one
    field whose value is taken (a race between two writes reaches these)."""
    field = name.removeprefix("uq_users_").removeprefix("lower_").removesuffix("_key")
    assert answer_for(UNIQUE, name, by_constraint=CONSTRAINT_ANSWERS) == answer
    assert answer.detail == f"{field} is already taken"


def test_whatever_unique_constraints_the_database_has_the_409_names_the_field(
    migrated_database: URL, log_dir: Path
) -> None:
    """Plain unique constraints, as an older schema had, in place of the model's indexes:
    a taken value is still found and named (api.uniqueness asks, whichever rule says no)."""
    with connect(as_owner(migrated_database)) as owner:
        for index, column in (
            ("uq_users_username_key", "username"),
            ("uq_users_lower_email", "email"),
        ):
            owner.execute(f"DROP INDEX {index}")
            owner.execute(f"ALTER TABLE users ADD CONSTRAINT uq_users_{column} UNIQUE ({column})")
    with (
        running_api(migrated_database, log_dir, WEB_CONCURRENCY="1") as api,
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        user = create_user(client)
        same_email = client.post("/users", json=user_body(username=unique(), email=user["email"]))
        assert (same_email.status_code, same_email.json()) == (
            409,
            {"detail": "email is already taken"},
        )
        same_name = client.post(
            "/users", json=user_body(username=user["username"], email=f"{unique()}@example.com")
        )
        assert (same_name.status_code, same_name.json()) == (
            409,
            {"detail": "username is already taken"},
        )
