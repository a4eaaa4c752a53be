"""The case-insensitive identity revision, done the online way: a preflight that stops
cleanly on existing case-duplicates, indexes built concurrently, leftovers handled."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import URL

from tests.support.databases import connect
from tests.support.processes import alembic, revision_of
from tests.support.revisions import revision_before, revision_named

REVISION = revision_named("case-insensitive usernames and emails")
BEFORE = str(revision_before(REVISION))

UNIQUE_THINGS = """
SELECT conname FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'u'
UNION ALL
SELECT c.relname || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'users'::regclass AND i.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)
ORDER BY 1
"""


def unique_things(url: URL) -> list[str]:
    with connect(url) as db:
        return [str(name) for (name,) in db.execute(UNIQUE_THINGS).fetchall()]


@pytest.fixture
def before_revision(migrated_database: URL) -> URL:
    alembic(migrated_database, "downgrade", BEFORE)
    return migrated_database


def test_existing_case_duplicates_stop_the_revision_and_change_nothing(
    before_revision: URL,
) -> None:
    with connect(before_revision) as db:
        for name, email in [("Ada", "ada@x.org"), ("ada", "other@x.org"), ("Bob", "BOB@x.org"),
                            ("bob2", "bob@x.org"), ("Cy", "cy@x.org")]:  # fmt: skip
            db.execute("INSERT INTO users (username, email) VALUES (%s, %s)", (name, email))
        ids = {str(n): int(str(i)) for i, n in db.execute("SELECT id, username FROM users")}
    before = unique_things(before_revision)

    result = alembic(before_revision, "upgrade", "head", check=False)

    assert result.returncode != 0
    assert "1 username(s) are shared by users that differ only by case" in result.stderr
    assert f"ids {ids['Ada']}, {ids['ada']}" in result.stderr
    assert "1 email(s)" in result.stderr
    assert f"ids {ids['Bob']}, {ids['bob2']}" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert revision_of(before_revision) == BEFORE
    assert unique_things(before_revision) == before == ["uq_users_email", "uq_users_username"]

    with connect(before_revision) as db:  # what the message says to do
        db.execute("UPDATE users SET username = username || '-' || id WHERE username = 'ada'")
        db.execute("UPDATE users SET email = 'bob-2@x.org' WHERE username = 'bob2'")
    alembic(before_revision, "upgrade", "head")
    assert unique_things(before_revision) == ["uq_users_lower_email", "uq_users_lower_username"]


def test_an_invalid_leftover_of_an_interrupted_build_is_replaced(before_revision: URL) -> None:
    with connect(before_revision) as db:
        db.execute("INSERT INTO users (username, email) VALUES ('a', 'a@x.org'), ('b', 'b@x.org')")
        # An interrupted build under the revision's own name, left INVALID.
        with pytest.raises(psycopg.errors.UniqueViolation):
            db.execute("CREATE UNIQUE INDEX CONCURRENTLY uq_users_lower_username ON users ((1))")
    assert "uq_users_lower_username (INVALID)" in unique_things(before_revision)

    alembic(before_revision, "upgrade", "head")

    assert unique_things(before_revision) == ["uq_users_lower_email", "uq_users_lower_username"]
    with connect(before_revision) as db, pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("INSERT INTO users (username, email) VALUES ('A', 'new@x.org')")
