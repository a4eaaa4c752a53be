"""The API connects as a role that reads and writes rows and can change nothing else."""

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from tests.support.databases import connect
from tests.support.processes import alembic, as_api_role, migrate_in_process
from tests.support.scratch_migrations import ScratchMigrations


@pytest.fixture
def as_api(migrated_database: URL) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with connect(as_api_role(migrated_database)) as connection:
        yield connection


def test_api_role_reads_and_writes_rows(as_api: psycopg.Connection[tuple[object, ...]]) -> None:
    as_api.execute("INSERT INTO users (username, email) VALUES ('r', 'r@example.com')")
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
    as_api: psycopg.Connection[tuple[object, ...]], statement: str
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


def test_role_is_set_up_on_a_database_from_before_it_existed_and_follows_the_secret(
    empty_database: URL,
) -> None:
    migrate_in_process(empty_database, "upgrade", "head")  # schema built without the role
    role = f"legacy_api_{secrets.token_hex(3)}"
    first, second = secrets.token_hex(8), secrets.token_hex(8)
    try:
        with pytest.raises(psycopg.OperationalError):
            connect(empty_database.set(username=role, password=first))

        alembic(empty_database, "upgrade", "head", API_DB_USER=role, API_DB_PASSWORD=first)
        with connect(empty_database.set(username=role, password=first)) as as_api:
            assert as_api.execute("SELECT count(*) FROM users").fetchone() == (0,)

        # A rotated secret reaches the database on the next run.
        alembic(empty_database, "upgrade", "head", API_DB_USER=role, API_DB_PASSWORD=second)
        with pytest.raises(psycopg.OperationalError):
            connect(empty_database.set(username=role, password=first))
        connect(empty_database.set(username=role, password=second)).close()
    finally:
        with connect(empty_database) as db:
            db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            db.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_api_role_may_not_be_the_schema_owner(migrated_database: URL) -> None:
    owner = migrated_database.username or ""
    result = alembic(migrated_database, "upgrade", "head", check=False, API_DB_USER=owner)
    assert result.returncode != 0
    assert f"API_DB_USER ({owner}) must differ from the schema owner" in result.stderr
