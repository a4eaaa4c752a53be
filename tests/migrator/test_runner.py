"""migrator.runner (through migrations/env.py): each revision in a transaction of its own,
each logged as JSON with the outcome; the settings a command reads checked first."""

import subprocess

import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.paths import ALEMBIC_INI
from harness.processes import (
    alembic,
    alembic_command,
    migrate_in_process,
    revision_of,
    service_env,
)
from harness.revisions import BASE_REVISION, HEAD_REVISION, REVISIONS
from migrator.monitoring import MAINTENANCE_DATABASE
from tests.migrator.support import ADD_NICKNAME, DROP_NICKNAME, columns_of_users
from tests.support.logs import log_lines
from tests.support.scratch_migrations import ScratchMigrations


def test_failing_revision_rolls_back_alone_and_a_fixed_rerun_succeeds(
    empty_database: URL, scratch: ScratchMigrations
) -> None:
    alembic(empty_database, "upgrade", BASE_REVISION)
    failing = scratch.add_revision(
        "e3c3c3c3c3c3",
        f"""
        {ADD_NICKNAME}
        op.execute("SELECT 1 / 0")  # fails half way, after the column was added
        """,
        DROP_NICKNAME,
    )

    result = alembic(empty_database, "upgrade", "head", check=False, ini=scratch.ini)

    assert result.returncode != 0
    assert "division by zero" in result.stderr
    assert last_run(empty_database) == ("failed", "e3c3c3c3c3c3")  # MigrationFailed reads it
    # The revisions before it applied and stay; the failing one left nothing behind.
    assert revision_of(empty_database) == HEAD_REVISION
    assert "nickname" not in columns_of_users(empty_database)
    assert "bio" in columns_of_users(empty_database)

    failing.write_text(failing.read_text().replace('op.execute("SELECT 1 / 0")', "pass"))
    alembic(empty_database, "upgrade", "head", ini=scratch.ini)
    assert revision_of(empty_database) == "e3c3c3c3c3c3"
    assert "nickname" in columns_of_users(empty_database)
    assert last_run(empty_database) == ("succeeded", "e3c3c3c3c3c3")


def last_run(database_url: URL) -> tuple[str, str] | None:
    """What monitoring reads of the migrator's last run on the database (its outcome and
    destination), in the maintenance database (migrator.monitoring)."""
    with connect(database_url.set(database=MAINTENANCE_DATABASE)) as superuser:
        row = superuser.execute(
            "SELECT outcome, destination FROM migrator_last_run WHERE datname = %s",
            (database_url.database,),
        ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


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


def test_offline_sql_needs_no_database_settings() -> None:
    # --sql connects to nothing: without a password or a URL it still prints the script.
    result = subprocess.run(
        alembic_command(ALEMBIC_INI, "upgrade", "head", "--sql"),
        env=service_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE users" in result.stdout


def test_a_callers_connection_is_used_whatever_the_environment_says(
    empty_database: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The caller's connection, and so its settings: the migrator's own are not read.
    monkeypatch.setenv("MIGRATOR_LOCK_TIMEOUT", "-1")
    monkeypatch.setenv("POSTGRES_PORT", "0")
    migrate_in_process(empty_database, "upgrade", "head")
    assert revision_of(empty_database) == HEAD_REVISION
