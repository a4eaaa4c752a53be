"""migrator.steps.roles: the superuser's roles step. The schema owner and the API role are
narrow login roles, only they may connect, their passwords reach the server only as
SCRAM verifiers, and an old layout is handed over to the owner."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from harness.databases import connect, create_database, drop_database
from harness.postgres import throwaway_server
from harness.processes import alembic, migrate_in_process
from harness.roles import (
    API_PASSWORD,
    API_ROLE,
    EXPORTER_PASSWORD,
    OWNER_ROLE,
    as_api_role,
    as_owner,
    roles_settings,
    set_up_roles,
)
from migrator.monitoring import EXPORTER_ROLE, LAST_RUN, MAINTENANCE_DATABASE
from migrator.settings import plan_database
from migrator.steps.roles import LOGIN_ROLE, scram_verifier, set_up, verifier_matches
from shared_models.settings import ConfigurationError


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


def test_the_plan_scratch_database_is_the_owners_alone(migrated_database: URL) -> None:
    scratch = migrated_database.set(database=plan_database(migrated_database.database or ""))
    with connect(as_owner(scratch)) as owner:
        owned_by = owner.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert owned_by == (OWNER_ROLE,)
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        connect(as_api_role(scratch))


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
            db.execute(
                "INSERT INTO users (username, username_key, email)"
                " VALUES ('old', 'old', 'old@example.com')"
            )
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


# What the roles step makes of each role: pg_roles' columns for LOGIN_ROLE's attributes.
NARROW = {
    "rolcanlogin": True,
    "rolsuper": False,
    "rolcreatedb": False,
    "rolcreaterole": False,
    "rolreplication": False,
    "rolbypassrls": False,
}


def attributes_and_verifier(url: URL, role: str) -> tuple[dict[str, object], object]:
    with connect(url) as superuser:
        row = superuser.execute(
            sql.SQL("SELECT {}, rolpassword FROM pg_authid WHERE rolname = %s").format(
                sql.SQL(", ").join(map(sql.Identifier, NARROW))
            ),
            (role,),
        ).fetchone()
    assert row is not None, role
    return dict(zip(NARROW, row[:-1], strict=True)), row[-1]


@pytest.mark.parametrize("role", [OWNER_ROLE, API_ROLE, EXPORTER_ROLE])
def test_a_role_widened_by_hand_is_narrowed_again(empty_database: URL, role: str) -> None:
    name = sql.Identifier(role)
    with connect(empty_database) as superuser:
        superuser.execute(
            sql.SQL("ALTER ROLE {} NOLOGIN SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS")
            .format(name)
        )  # fmt: skip
    try:
        widened, verifier = attributes_and_verifier(empty_database, role)
        assert not any(widened[key] == value for key, value in NARROW.items())

        set_up_roles(empty_database)  # its password unchanged: only the attributes differ

        narrowed, verifier_after = attributes_and_verifier(empty_database, role)
        assert narrowed == NARROW
        assert verifier_after == verifier  # narrowed without touching the password
    finally:  # never leave a wide role to the other tests of the session
        with connect(empty_database) as superuser:
            superuser.execute(sql.SQL(f"ALTER ROLE {{}} {LOGIN_ROLE}").format(name))


def as_exporter(url: URL) -> URL:
    return url.set(username=EXPORTER_ROLE, password=EXPORTER_PASSWORD)


def test_the_exporter_may_read_statistics_and_nothing_else(migrated_database: URL) -> None:
    maintenance = migrated_database.set(database=MAINTENANCE_DATABASE)
    with connect(maintenance) as superuser:
        member_of = superuser.execute(
            "SELECT array_agg(b.rolname ORDER BY b.rolname) FROM pg_auth_members m"
            " JOIN pg_roles b ON b.oid = m.roleid JOIN pg_roles r ON r.oid = m.member"
            " WHERE r.rolname = %s",
            (EXPORTER_ROLE,),
        ).fetchone()
    assert member_of == (["pg_monitor"],)
    with connect(as_exporter(maintenance)) as exporter:
        # The extension the roles step created where the exporter connects (its rows need
        # the library preloaded: tests/monitoring reads them), and the migrator's last
        # runs (readable by pg_monitor), but nothing to write.
        readable = exporter.execute("SELECT has_table_privilege('pg_stat_statements', 'SELECT')")
        assert readable.fetchone() == (True,)
        exporter.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(LAST_RUN)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            exporter.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(LAST_RUN)))
    # The application's database, and so its rows, are closed to it.
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        connect(as_exporter(migrated_database))


def test_without_its_password_no_exporter_role_is_made(empty_database: URL) -> None:
    """Where no exporter runs (the Kubernetes manifests), the step makes no role for one."""
    exporter = sql.Identifier(EXPORTER_ROLE)
    with connect(empty_database) as superuser:
        superuser.execute(sql.SQL("DROP ROLE {}").format(exporter))
    try:
        set_up(roles_settings(empty_database, exporter_db_password=None), wait_seconds=10)
        with connect(empty_database) as superuser:
            found = superuser.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (EXPORTER_ROLE,)
            ).fetchone()
        assert found is None
    finally:  # the other tests of the session expect it
        set_up_roles(empty_database)
