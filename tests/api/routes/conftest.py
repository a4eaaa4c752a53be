"""The contract: every test here must leave no ERROR in the database's log.

The normal answers (a 409 for a taken name, a 404 for a missing author) are not
database errors: each would write an ERROR line, with the value in its DETAIL (an
email, in a log anyone who reads the database's log can read), and drown the errors
an operator alerts on (api.uniqueness).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL

from harness.postgres import PostgresServer


def errors_of(log: str, database: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith(f"db={database},ERROR:")]


@pytest.fixture(autouse=True)
def no_database_errors(postgres_server: PostgresServer | None, api_database: URL) -> Iterator[None]:
    if postgres_server is None:  # TEST_DATABASE_URL: its log is not ours to read
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs the contract against a throwaway server, whose log it reads")
        yield
        return
    already = len(postgres_server.server_log())
    yield
    errors = errors_of(postgres_server.server_log()[already:], str(api_database.database))
    assert not errors, "the database logged:\n" + "\n".join(errors)
