"""The real revisions through the real alembic command line, against a real PostgreSQL."""

import subprocess
import time

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL

from tests.support.databases import connect, create_database
from tests.support.logs import log_lines
from tests.support.paths import ALEMBIC_INI
from tests.support.postgres import PostgresServer, free_port
from tests.support.processes import alembic, alembic_command, migrator_env, service_env
from tests.support.revisions import HEAD_REVISION, REVISIONS, revision_before, revision_named
from tests.support.roles import OWNER_PASSWORD, set_up_roles

BIO_REVISION = revision_named("add user bio")
BEFORE_BIO = revision_before(BIO_REVISION)


def columns(url: URL, table: str) -> dict[str, dict[str, object]]:
    engine = create_engine(url)
    try:
        return {column["name"]: dict(column) for column in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def current_revision(url: URL) -> str:
    return alembic(url, "current").stdout.split()[0]


def test_upgrade_head_builds_the_schema_of_the_models(empty_database: URL) -> None:
    alembic(empty_database, "upgrade", "head")
    engine = create_engine(empty_database)
    try:
        schema = inspect(engine)
        assert set(schema.get_table_names()) >= {"users", "posts", "alembic_version"}
        users = {column["name"]: column for column in schema.get_columns("users")}
        assert users["username"]["nullable"] is False
        assert users["bio"]["nullable"] is True
        # Unique regardless of case: indexes on lower(), no plain constraints left.
        assert schema.get_unique_constraints("users") == []
        unique = {i["name"]: i["expressions"] for i in schema.get_indexes("users") if i["unique"]}
        assert unique == {
            "uq_users_lower_username": ["lower(username::text)"],
            "uq_users_lower_email": ["lower(email::text)"],
        }
        (foreign_key,) = schema.get_foreign_keys("posts")
        assert foreign_key["name"] == "fk_posts_user_id_users"
        assert foreign_key["options"]["ondelete"] == "CASCADE"
        assert {index["name"] for index in schema.get_indexes("posts")} == {"ix_posts_user_id_id"}
        date_posted = next(c for c in schema.get_columns("posts") if c["name"] == "date_posted")
        assert date_posted["nullable"] is False
        assert "now()" in str(date_posted["default"])
    finally:
        engine.dispose()


def test_downgrade_past_bio_drops_it_and_upgrade_brings_it_back_keeping_rows(
    migrated_database: URL,
) -> None:
    with connect(migrated_database) as db:
        db.execute("INSERT INTO users (username, email, bio) VALUES ('ada', 'ada@x.org', 'hi')")

    alembic(migrated_database, "downgrade", str(BEFORE_BIO))
    assert current_revision(migrated_database) == BEFORE_BIO
    assert "bio" not in columns(migrated_database, "users")

    alembic(migrated_database, "upgrade", "head")
    assert current_revision(migrated_database) == HEAD_REVISION
    assert "bio" in columns(migrated_database, "users")
    with connect(migrated_database) as db:
        # The row survived both directions; the dropped column's value could not.
        assert db.execute("SELECT username, bio FROM users").fetchall() == [("ada", None)]


def test_check_finds_no_difference_between_models_and_migrations(
    migrated_database: URL,
) -> None:
    result = alembic(migrated_database, "check")
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_history_lists_the_revisions_newest_first(empty_database: URL) -> None:
    history = alembic(empty_database, "history").stdout
    assert history.index("index posts by user and id") < history.index("add user bio")
    assert history.index("add user bio") < history.index("create users and posts")


def test_missing_configuration_fails_naming_the_variables() -> None:
    result = subprocess.run(
        alembic_command(ALEMBIC_INI, "current"),
        env=service_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "set OWNER_DB_PASSWORD or OWNER_DB_PASSWORD_FILE" in result.stderr


def test_unreachable_database_fails_after_the_deadline_without_the_password() -> None:
    nobody_listens = URL.create("postgresql", host="127.0.0.1", port=free_port(), database="app")
    started = time.monotonic()
    result = alembic(nobody_listens, "upgrade", "head", check=False, MIGRATOR_DB_WAIT_SECONDS="2")
    assert result.returncode != 0
    assert "not reachable after" in result.stderr
    assert "MIGRATOR_DB_WAIT_SECONDS" in result.stderr
    assert OWNER_PASSWORD not in result.stderr + result.stdout
    assert time.monotonic() - started < 30  # bounded: it gave up rather than hanging


def test_migrator_waits_for_a_server_that_comes_up_late(own_server: PostgresServer) -> None:
    database = create_database(own_server.url)
    set_up_roles(database)
    own_server.stop()
    migrator = subprocess.Popen(
        alembic_command(ALEMBIC_INI, "upgrade", "head"),
        env=migrator_env(database, MIGRATOR_DB_WAIT_SECONDS="60"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert migrator.stdout is not None
    seen = []
    # Until it has found the server down and said it will retry (a slow machine may take
    # seconds to start it); only then does the server come back.
    for line in migrator.stdout:
        seen.append(line)
        if "database not ready" in line:
            break
    assert migrator.poll() is None, "the migrator gave up while the server was still down"
    own_server.start()
    output, _ = migrator.communicate(timeout=120)
    assert migrator.returncode == 0, "".join(seen) + output
    assert current_revision(database) == HEAD_REVISION


def test_the_migrator_logs_each_revision_and_its_outcome_as_json(empty_database: URL) -> None:
    lines = log_lines(alembic(empty_database, "upgrade", "head").stderr)
    applied = [line for line in lines if line.get("direction") == "applied"]
    assert [line["revision"] for line in applied] == [script.revision for script in REVISIONS]
    assert all(isinstance(line["duration_ms"], int) for line in applied)
    assert all(line["service"] == "migrator" for line in lines)
    done = lines[-1]
    assert (done["outcome"], done["revisions"]) == ("succeeded", len(REVISIONS))

    lines = log_lines(alembic(empty_database, "downgrade", "-1").stderr)
    (undone,) = [line for line in lines if line.get("direction") == "undid"]
    assert undone["revision"] == HEAD_REVISION
