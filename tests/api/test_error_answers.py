"""Every database error has an answer: by its SQLSTATE, refined by a known constraint."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import CheckConstraint, ForeignKeyConstraint, UniqueConstraint

from api.errors import CONSTRAINT_ANSWERS, answer_for
from api.main import create_app
from api.settings import ApiDatabaseSettings, ApiSettings
from api.telemetry import Telemetry
from shared_models import Base

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
    return found


@pytest.mark.parametrize(("name", "sqlstate"), constraints())
def test_every_constraint_of_the_models_has_a_refined_answer(name: str, sqlstate: str) -> None:
    answer = answer_for(sqlstate, name)
    assert answer.status in (404, 409, 422), (name, answer)
    # A client learns which rule it broke, not just that one exists.
    assert name in CONSTRAINT_ANSWERS, f"add {name} to api.errors.CONSTRAINT_ANSWERS"


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
        answer = answer_for(FOREIGN_KEY, name, deleting=True)
        assert (answer.status, answer.detail) == (409, "other resources still refer to it")


@pytest.fixture
def app_with_a_failing_route() -> FastAPI:
    app = create_app(
        ApiDatabaseSettings(database_url="postgresql://nobody@127.0.0.1:9/none"), ApiSettings()
    )

    @app.get("/broken-disk")
    async def broken_disk() -> None:
        raise OSError(28, "No space left on device")

    return app


def test_an_os_error_outside_the_database_is_a_500_not_database_unavailable(
    app_with_a_failing_route: FastAPI,
) -> None:
    # In process, without the lifespan: the route touches no database.
    served = Telemetry(app_with_a_failing_route, access_log_enabled=True)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/broken-disk", headers={"X-Request-ID": "quote-me-1"})

    response = asyncio.run(call())
    assert response.status_code == 500
    # Not "database unavailable", no Retry-After; the id lets the user quote it.
    assert response.json() == {"detail": "Internal Server Error", "request_id": "quote-me-1"}
    assert response.headers["x-request-id"] == "quote-me-1"
    assert "retry-after" not in response.headers
