"""Least privilege: the superuser's roles step, the schema owner, and the API's row-only role."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from migrator.steps.roles import scram_verifier, verifier_matches
from shared_models.settings import ConfigurationError
from tests.support.databases import connect, create_database, drop_database
from tests.support.postgres import throwaway_server
from tests.support.processes import alembic, migrate_in_process
from tests.support.roles import (
    API_PASSWORD,
    API_ROLE,
    OWNER_ROLE,
    as_api_role,
    as_owner,
    roles_settings,
    set_up_roles,
)
from tests.support.scratch_migrations import ScratchMigrations

Connection = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def as_api(migrated_database: URL) -> Iterator[Connection]:
    with connect(as_api_role(migrated_database)) as connection:
        yield connection


def test_api_role_reads_and_writes_rows(as_api: Connection) -> None:
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
    as_api: Connection, statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_api.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE ROLE intruder",
        "CREATE DATABASE intruder",
        "ALTER ROLE test_api SUPERUSER",
        "GRANT pg_execute_server_program TO test_owner",
        "COPY users TO PROGRAM 'true'",
    ],
)
def test_schema_owner_is_no_superuser(migrated_database: URL, statement: str) -> None:
    with (
        connect(as_owner(migrated_database)) as owner,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        owner.execute(statement)


def test_only_the_stack_roles_may_connect(migrated_database: URL) -> None:
    stranger = f"stranger_{secrets.token_hex(3)}"
    password = secrets.token_hex(8)
    with connect(migrated_database) as superuser:
        superuser.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(stranger), sql.Literal(password)
            )
        )
    try:
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            connect(migrated_database.set(username=stranger, password=password))
    finally:
        with connect(migrated_database) as superuser:
            superuser.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(stranger)))


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


def owners_of_public(url: URL) -> set[str]:
    with connect(url) as db:
        rows = db.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace"
        ).fetchall()
    return {str(owner) for (owner,) in rows}


def test_a_database_from_before_the_owner_role_is_handed_over(server_url: URL) -> None:
    # Today's layout before this change: the superuser built and owned the schema.
    legacy = create_database(server_url, prefix="legacy")
    try:
        migrate_in_process(legacy, "upgrade", "head")
        with connect(legacy) as db:
            db.execute("INSERT INTO users (username, email) VALUES ('old', 'old@example.com')")
        assert owners_of_public(legacy) == {server_url.username}

        set_up_roles(legacy)
        assert owners_of_public(legacy) == {OWNER_ROLE}
        alembic(legacy, "upgrade", "head")  # the owner can now run the migrator at head
        with connect(as_api_role(legacy)) as as_api:
            assert as_api.execute("SELECT username FROM users").fetchall() == [("old",)]
    finally:
        drop_database(legacy)


def test_a_rotated_password_reaches_the_role(empty_database: URL) -> None:
    rotated = secrets.token_hex(10)
    try:
        set_up_roles(empty_database, api_db_password=rotated)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            connect(as_api_role(empty_database))
        connect(empty_database.set(username=API_ROLE, password=rotated)).close()
    finally:
        set_up_roles(empty_database)  # the session's password again, for the other tests
    connect(as_api_role(empty_database)).close()


def test_passwords_reach_the_server_only_as_scram_verifiers() -> None:
    server = throwaway_server(settings=("log_statement=all",))
    try:
        server.start()
        database = create_database(server.url)
        owner_password, api_password = secrets.token_hex(10), secrets.token_hex(10)
        set_up_roles(database, owner_db_password=owner_password, api_db_password=api_password)
        set_up_roles(database, api_db_password=secrets.token_hex(10))  # a rotation too
        log = server.server_log()
    finally:
        server.remove()
    assert "CREATE ROLE" in log  # the statements were logged...
    assert "SCRAM-SHA-256$4096:" in log  # ...with verifiers in them...
    assert owner_password not in log  # ...and never the passwords
    assert api_password not in log


def test_a_matching_password_is_left_alone() -> None:
    verifier = scram_verifier(API_PASSWORD)
    assert verifier_matches(verifier, API_PASSWORD)
    assert not verifier_matches(verifier, API_PASSWORD + "x")
    assert not verifier_matches("md5abc", API_PASSWORD)
    assert not verifier_matches(None, API_PASSWORD)


@pytest.mark.parametrize("name", ["owner_db_user", "api_db_user"])
def test_the_three_roles_must_differ(server_url: URL, name: str) -> None:
    with pytest.raises(ConfigurationError, match="must be three roles"):
        roles_settings(server_url, **{name: "postgres"})
    with pytest.raises(ConfigurationError, match="must be three roles"):
        roles_settings(server_url, owner_db_user=API_ROLE)


def test_migrator_refuses_to_grant_to_itself(migrated_database: URL) -> None:
    result = alembic(migrated_database, "upgrade", "head", check=False, API_DB_USER=OWNER_ROLE)
    assert result.returncode != 0
    assert f"API_DB_USER ({OWNER_ROLE}) must differ from the schema owner" in result.stderr
