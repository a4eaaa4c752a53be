"""migrator.database: the migrator waits, boundedly, for a database that is not there yet,
and gives up naming the setting, never the password."""

import subprocess
import time

from sqlalchemy.engine import URL

from harness.databases import create_database
from harness.paths import ALEMBIC_INI
from harness.postgres import PostgresServer, free_port
from harness.processes import alembic, alembic_command, migrator_env
from harness.revisions import HEAD_REVISION
from harness.roles import OWNER_PASSWORD, set_up_roles


def current_revision(url: URL) -> str:
    return alembic(url, "current").stdout.split()[0]


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
