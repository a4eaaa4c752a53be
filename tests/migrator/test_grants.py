"""migrator.grants: after each run the API role may read and write rows of every table,
later ones included, and nothing more; never granted to the schema owner itself."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic
from harness.roles import OWNER_ROLE, as_api_role
from tests.support.scratch_migrations import ScratchMigrations

Connection = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def as_api(migrated_database: URL) -> Iterator[Connection]:
    with connect(as_api_role(migrated_database)) as connection:
        yield connection


def test_api_role_reads_and_writes_rows(as_api: Connection) -> None:
    as_api.execute(
        "INSERT INTO users (username, username_key, email) VALUES ('r', 'r', 'r@example.com')"
    )
    as_api.execute("UPDATE users SET bio = 'b' WHERE username = 'r'")
    row = as_api.execute("SELECT id, bio FROM users WHERE username = 'r'").fetchone()
    assert row is not None
    assert row[1] == "b"
    as_api.execute("INSERT INTO posts (title, content, user_id) VALUES ('t', 'c', %s)", (row[0],))
    as_api.execute("DELETE FROM users WHERE id = %s", (row[0],))
    assert as_api.execute("SELECT count(*) FROM posts").fetchone() == (0,)
    assert as_api.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE users ADD COLUMN evil text",
        "ALTER TABLE posts DROP COLUMN content",
        "DROP TABLE posts",
        "TRUNCATE users CASCADE",
        "CREATE TABLE evil (id int)",
        "CREATE INDEX evil ON users (bio)",
        "UPDATE alembic_version SET version_num = 'x'",
        "DELETE FROM alembic_version",
    ],
)
def test_api_role_cannot_change_the_schema_or_its_version(
    as_api: Connection, statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_api.execute(statement)


def test_tables_added_by_later_revisions_are_covered(
    migrated_database: URL, tmp_path_factory: pytest.TempPathFactory
) -> None:
    scratch = ScratchMigrations(tmp_path_factory.mktemp("scratch"))
    scratch.add_revision(
        "e4d4d4d4d4d4",
        "op.create_table('notes', sa.Column('id', sa.BigInteger, sa.Identity(),"
        " primary_key=True), sa.Column('body', sa.Text, nullable=False))",
        "op.drop_table('notes')",
    )
    alembic(migrated_database, "upgrade", "head", ini=scratch.ini)
    with connect(as_api_role(migrated_database)) as as_api:
        as_api.execute("INSERT INTO notes (body) VALUES ('hello')")
        assert as_api.execute("SELECT body FROM notes").fetchall() == [("hello",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_api.execute("DROP TABLE notes")


def test_migrator_refuses_to_grant_to_itself(migrated_database: URL) -> None:
    result = alembic(migrated_database, "upgrade", "head", check=False, API_DB_USER=OWNER_ROLE)
    assert result.returncode != 0
    assert f"API_DB_USER ({OWNER_ROLE}) must differ from the schema owner" in result.stderr
