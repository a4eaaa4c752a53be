"""Fixtures shared by every test: one PostgreSQL server, fresh databases, the real API."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from harness.databases import new_database
from harness.paths import ALEMBIC_INI
from harness.postgres import PostgresServer, external_server_url, throwaway_server
from harness.processes import (
    SERVICE_VARIABLES,
    RunningApi,
    running_api,
    use_gunicorn_config,
    use_quick_hashing,
)
from harness.tls import share_default_contexts

# gunicorn as the api image runs it, plus the workers' coverage saved on SIGTERM.
use_gunicorn_config("python:tests.support.gunicorn_with_coverage")
# The api servers the tests start hash passwords at the least cost the api accepts
# (harness.processes.QUICK_HASHING); the compose stacks, at the shipped cost.
use_quick_hashing()
# One TLS context per CA file for every httpx client, not one each (harness.tls).
share_default_contexts()

# In-process settings (the roles step, the app in the docs) must not read the shell's.
for _name in SERVICE_VARIABLES:
    os.environ.pop(_name, None)


# Each server log line starts with its database's name, so a test can tell its own.
LOG_LINE_PREFIX = "db=%d,"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    """A throwaway server started (and removed) here; None with TEST_DATABASE_URL set."""
    if external_server_url() is not None:
        yield None
        return
    server = throwaway_server(settings=(f"log_line_prefix={LOG_LINE_PREFIX}",))
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def server_url(postgres_server: PostgresServer | None) -> URL:
    """TEST_DATABASE_URL's server, else the throwaway one."""
    if postgres_server is None:
        external = external_server_url()
        assert external is not None
        return external
    return postgres_server.url


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of the test's own, which it may stop and start."""
    server = throwaway_server()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def own_migrated_database(own_server: PostgresServer) -> Iterator[URL]:
    """A database at head, with the stack's roles, on the test's own server."""
    # A test may leave its server stopped: the database then goes with the server.
    with (
        contextlib.suppress(psycopg.OperationalError),
        new_database(own_server.url, revision="head") as url,
    ):
        yield url


@pytest.fixture
def empty_database(server_url: URL) -> Iterator[URL]:
    """A new database with the stack's roles (the roles step ran) and no schema yet."""
    with new_database(server_url) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_template(server_url: URL) -> Iterator[URL]:
    """A database the real migrator brought to head, once: migrated_database copies it."""
    with new_database(server_url, revision="head", prefix="template") as url:
        yield url


@pytest.fixture
def migrated_database(server_url: URL, migrated_template: URL) -> Iterator[URL]:
    """A new database at head with the stack's roles: a copy of the migrated template."""
    with new_database(server_url, template=migrated_template) as url:
        yield url


@pytest.fixture(scope="session")
def api_database(server_url: URL) -> Iterator[URL]:
    """The database at head that api_server serves, for the whole session."""
    with new_database(server_url, revision="head", prefix="api") as url:
        yield url


@pytest.fixture(scope="session")
def api_server(api_database: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    with running_api(api_database, tmp_path_factory.mktemp("logs")) as api:
        yield api


@pytest.fixture
def client(api_server: RunningApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.base_url, timeout=30) as http:
        yield http


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def alembic_config() -> Config:
    """pytest-alembic's built-in tests (--test-alembic) run the real migrations..."""
    return Config(str(ALEMBIC_INI))


@pytest.fixture
def alembic_engine(empty_database: URL) -> Iterator[Engine]:
    """...on an Engine of a new database, which env.py accepts from a caller."""
    engine = create_engine(empty_database, poolclass=NullPool)
    yield engine
    engine.dispose()


DOCKER_KINDS = ("e2e", "faults", "compat")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow kinds all need Docker: `make test-quick` leaves out what is marked docker."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in DOCKER_KINDS):
            item.add_marker(pytest.mark.docker)
