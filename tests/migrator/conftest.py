"""Fixtures of the migrator's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from tests.support.scratch_migrations import ScratchMigrations


@pytest.fixture
def scratch(tmp_path: Path) -> ScratchMigrations:
    return ScratchMigrations(tmp_path)


@pytest.fixture
def reader_of_users(migrated_database: URL) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A long transaction that has read users: it holds ACCESS SHARE on the table."""
    with connect(migrated_database) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("SELECT count(*) FROM users")
        yield blocker
