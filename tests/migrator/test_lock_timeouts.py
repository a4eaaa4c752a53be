"""migrator.lock_timeouts: DDL queues for a table lock only briefly, retries with backoff,
and names the blocker when it gives up; a statement past its timeout is cancelled; the
timeouts are in the --sql script too. Meanwhile the API keeps serving."""

import statistics
import subprocess
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic, alembic_command, migrator_env, revision_of, running_api
from harness.revisions import HEAD_REVISION
from tests.api.factories import create_user
from tests.migrator.support import ADD_NICKNAME, DROP_NICKNAME, columns_of_users, wait_for_sessions
from tests.support.logs import log_lines
from tests.support.scratch_migrations import ScratchMigrations


def test_lock_timeout_retries_then_fails_naming_the_blocking_lock(
    migrated_database: URL,
    scratch: ScratchMigrations,
    reader_of_users: psycopg.Connection[tuple[object, ...]],
) -> None:
    scratch.add_revision("e1a1a1a1a1a1", ADD_NICKNAME, DROP_NICKNAME)
    blocker_pid = reader_of_users.info.backend_pid

    result = alembic(
        migrated_database, "upgrade", "head", check=False, ini=scratch.ini,
        MIGRATOR_LOCK_TIMEOUT="0.2", MIGRATOR_LOCK_RETRIES="2",
    )  # fmt: skip

    assert result.returncode != 0
    assert result.stderr.count("lock timeout (attempt") == 2
    last = log_lines(result.stderr)[-1]
    assert (last["level"], last["outcome"]) == ("ERROR", "failed")
    message = last["message"]
    assert message.startswith("gave up after 3 attempts")
    assert "MIGRATOR_LOCK_TIMEOUT" in message
    assert f"pid {blocker_pid}" in message
    assert "AccessShareLock on users" in message
    assert "idle in transaction" in message
    assert revision_of(migrated_database) == HEAD_REVISION
    assert "nickname" not in columns_of_users(migrated_database)


def test_api_keeps_serving_while_a_migration_waits_then_it_applies(
    migrated_database: URL,
    scratch: ScratchMigrations,
    reader_of_users: psycopg.Connection[tuple[object, ...]],
    log_dir: Path,
) -> None:
    scratch.add_revision("e2b2b2b2b2b2", ADD_NICKNAME, DROP_NICKNAME)
    lock_timeout = 1.0
    with (
        running_api(migrated_database, log_dir) as api,
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        user = create_user(client)
        migrator = subprocess.Popen(
            alembic_command(scratch.ini, "upgrade", "head"),
            env=migrator_env(
                migrated_database,
                MIGRATOR_LOCK_TIMEOUT=str(lock_timeout),
                MIGRATOR_LOCK_RETRIES="10",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        latencies, statuses = [], []
        with connect(migrated_database) as observer:
            wait_for_sessions(observer, "migrator", 2)  # the lock connection and the DDL one
        # Serve traffic through a few rounds of lock timeout and backoff.
        until = time.monotonic() + 3 * lock_timeout + 3
        while time.monotonic() < until:
            started = time.monotonic()
            # Reads users: it queues behind the ALTER's lock request while that waits.
            statuses.append(client.get(f"/users/{user['id']}").status_code)
            latencies.append(time.monotonic() - started)
        reader_of_users.execute("ROLLBACK")  # the long transaction ends
        output, _ = migrator.communicate(timeout=120)

    assert migrator.returncode == 0, output
    assert "lock timeout (attempt 1" in output
    assert "nickname" in columns_of_users(migrated_database)
    assert set(statuses) == {200}
    print(
        f"\n{len(latencies)} API requests while the migration waited on a held lock: "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"(lock_timeout {lock_timeout * 1000:.0f} ms)"
    )
    # No pile-up: a request waits at most about one lock timeout, never for the blocker.
    assert max(latencies) < lock_timeout + 2


def test_a_statement_past_the_statement_timeout_is_cancelled(
    migrated_database: URL, scratch: ScratchMigrations
) -> None:
    scratch.add_revision("e5e5e5e5e5e5", 'op.execute("SELECT pg_sleep(60)")')
    started = time.monotonic()
    result = alembic(
        migrated_database, "upgrade", "head", check=False, ini=scratch.ini,
        MIGRATOR_STATEMENT_TIMEOUT="1",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "canceling statement due to statement timeout" in result.stderr
    assert elapsed < 30, f"the statement ran {elapsed:.0f}s despite MIGRATOR_STATEMENT_TIMEOUT=1"
    assert revision_of(migrated_database) == HEAD_REVISION


def test_offline_sql_carries_the_timeouts_for_review(empty_database: URL) -> None:
    sql = alembic(
        empty_database, "upgrade", "head", "--sql",
        MIGRATOR_LOCK_TIMEOUT="4", MIGRATOR_STATEMENT_TIMEOUT="120",
    ).stdout  # fmt: skip
    assert sql.index("SET lock_timeout = '4000ms'") < sql.index("CREATE TABLE users")
    assert "SET statement_timeout = '120000ms'" in sql
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_posts_user_id_id" in sql
