"""The API as compose runs it, for the tests that read what it logs; and the route
tests' contract: no ERROR in the database's log."""

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from harness.postgres import PostgresServer
from harness.processes import RunningApi, running_api
from tests.api.factories import AS_OWNER, create_user, log_in

WORKERS = 2


@pytest.fixture(scope="module")
def logged_api(api_database: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    """The API as compose runs it: JSON lines, access log on, two workers."""
    logs = tmp_path_factory.mktemp("observed")
    with running_api(
        api_database, logs, LOG_FORMAT="json", ACCESS_LOG="true", WEB_CONCURRENCY=str(WORKERS)
    ) as api:
        yield api


def errors_of(log: str, database: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith(f"db={database},ERROR:")]


@pytest.fixture
def no_database_errors(postgres_server: PostgresServer | None, api_database: URL) -> Iterator[None]:
    """The contract of the route tests (each module asks for it): no ERROR in the
    database's log. A 409 for a taken name or a 404 for a missing author is a normal
    answer, not a database error (which would log the value, an email, in its DETAIL)."""
    if postgres_server is None:  # TEST_DATABASE_URL: its log is not ours to read
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs the contract against a throwaway server, whose log it reads")
        yield
        return
    already = len(postgres_server.server_log())
    yield
    errors = errors_of(postgres_server.server_log()[already:], str(api_database.database))
    assert not errors, "the database logged:\n" + "\n".join(errors)


@pytest.fixture
def client(api_server: RunningApi) -> Iterator[httpx.Client]:
    """The API's client, writing as the owner of what it writes (factories.AS_OWNER)."""
    with httpx.Client(base_url=api_server.base_url, timeout=30, auth=AS_OWNER) as http:
        yield http


@pytest.fixture(scope="module")
def account(api_server: RunningApi) -> tuple[dict[str, Any], str]:
    """A user of the module's, and a token of theirs (an Argon2 hash per test is dear)."""
    with httpx.Client(base_url=api_server.base_url, timeout=30) as http:
        user = create_user(http)
        return user, log_in(http, user["username"])
