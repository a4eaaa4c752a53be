"""The case-insensitive identity revision, done the online way: a preflight that stops
cleanly on existing case-duplicates, indexes built concurrently, leftovers handled, and
no moment without uniqueness."""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect, create_database
from harness.postgres import throwaway_server
from harness.processes import alembic, revision_of
from harness.revisions import revision_before, revision_named
from harness.roles import set_up_roles

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

    result = alembic(before_revision, "upgrade", REVISION, check=False)

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
    alembic(before_revision, "upgrade", REVISION)
    assert unique_things(before_revision) == ["uq_users_lower_email", "uq_users_lower_username"]


def test_an_invalid_leftover_of_an_interrupted_build_is_replaced(before_revision: URL) -> None:
    with connect(before_revision) as db:
        db.execute("INSERT INTO users (username, email) VALUES ('a', 'a@x.org'), ('b', 'b@x.org')")
        # An interrupted build under the revision's own name, left INVALID.
        with pytest.raises(psycopg.errors.UniqueViolation):
            db.execute("CREATE UNIQUE INDEX CONCURRENTLY uq_users_lower_username ON users ((1))")
    assert "uq_users_lower_username (INVALID)" in unique_things(before_revision)

    alembic(before_revision, "upgrade", REVISION)

    assert unique_things(before_revision) == ["uq_users_lower_email", "uq_users_lower_username"]
    with connect(before_revision) as db, pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("INSERT INTO users (username, email) VALUES ('A', 'new@x.org')")


# The statements a server logs (log_statement=ddl), each up to the next line's timestamp.
LOGGED = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*?)(?=\n\d{4}-\d\d-\d\d |\Z)", re.DOTALL)
GAINS = [
    re.compile(r"CREATE UNIQUE INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(\w+) ON users\b"),
    re.compile(r"ALTER TABLE users ADD CONSTRAINT (\w+) UNIQUE\b"),  # USING INDEX: same name
]
LOSSES = [
    re.compile(r"ALTER TABLE users DROP CONSTRAINT (?:IF EXISTS )?(\w+)"),
    re.compile(r"DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?(\w+)"),
]


def statements(server_log: str) -> list[str]:
    return [" ".join(statement.split()) for statement in LOGGED.findall(server_log)]


def replay(unique: list[str], ddl: list[str]) -> list[str]:
    """users' unique constraints and indexes through ``ddl``, statement by statement,
    failing at the first after which a column has neither (uq_users_<column> or
    uq_users_lower_<column>): a window in which duplicates could be written."""
    names = set(unique)
    for statement in ddl:
        names |= {m[1] for pattern in GAINS if (m := pattern.search(statement))}
        names -= {m[1] for pattern in LOSSES if (m := pattern.search(statement))}
        for column in ("username", "email"):
            assert any(name.endswith(f"_{column}") for name in names), (
                f"nothing keeps {column} unique after {statement!r}, in:\n" + "\n".join(ddl)
            )
    return sorted(names)


def test_usernames_and_emails_are_unique_after_every_statement_both_ways() -> None:
    server = throwaway_server(settings=("log_statement=ddl",))
    try:
        server.start()
        database = create_database(server.url)
        set_up_roles(database)
        alembic(database, "upgrade", BEFORE)
        before = unique_things(database)
        logged = len(server.server_log())
        alembic(database, "upgrade", REVISION)
        upgrade = statements(server.server_log()[logged:])
        after = unique_things(database)
        logged = len(server.server_log())
        alembic(database, "downgrade", BEFORE)
        downgrade = statements(server.server_log()[logged:])
        back = unique_things(database)
    finally:
        server.remove()
    assert before == back == ["uq_users_email", "uq_users_username"]
    assert after == ["uq_users_lower_email", "uq_users_lower_username"]
    # Replayed on what the catalog said before, the logged DDL ends where the catalog does.
    assert replay(before, upgrade) == after
    assert replay(after, downgrade) == back
