"""The ways migrations go wrong in production, made non-events: concurrent migrators, a
long transaction in the way, a revision failing half way, an interrupted index build."""

import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import URL

from migrator.advisory_lock import MIGRATION_LOCK_KEY
from tests.api.factories import create_user
from tests.support.databases import connect
from tests.support.logs import log_lines
from tests.support.paths import ALEMBIC_INI
from tests.support.processes import (
    alembic,
    alembic_command,
    migrator_env,
    revision_of,
    running_api,
)
from tests.support.revisions import (
    BASE_REVISION,
    HEAD_REVISION,
    revision_before,
    revision_named,
)
from tests.support.scratch_migrations import ScratchMigrations

ADD_NICKNAME = "op.add_column('users', sa.Column('nickname', sa.Text()))"
DROP_NICKNAME = "op.drop_column('users', 'nickname')"


@pytest.fixture
def scratch(tmp_path: Path) -> ScratchMigrations:
    return ScratchMigrations(tmp_path)


@pytest.fixture
def reader_of_users(migrated_database: URL) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A long transaction that has read users: it holds ACCESS SHARE on the table."""
    with connect(migrated_database) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("SELECT count(*) FROM users")
        yield blocker


def wait_for_sessions(
    db: psycopg.Connection[tuple[object, ...]], application: str, count: int, waiting: bool = False
) -> None:
    """Until ``count`` sessions of ``application`` are connected (and, if asked, waiting
    for a lock) in this database; bounded, so a slow machine fails instead of hanging."""
    give_up_at = time.monotonic() + 60
    condition = " AND wait_event_type = 'Lock'" if waiting else ""
    while time.monotonic() < give_up_at:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s" + condition,
            (application,),
        ).fetchone()
        if row is not None and int(str(row[0])) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} {application} session(s) did not show up in time")


def columns_of_users(url: URL) -> set[str]:
    with connect(url) as db:
        rows = db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
        ).fetchall()
    return {str(name) for (name,) in rows}


def test_two_migrators_started_together_both_succeed_and_apply_once(
    empty_database: URL,
) -> None:
    # Hold the lock ourselves until both are waiting, so they surely overlap; the one
    # that wins then builds an index CONCURRENTLY while the other still waits, which
    # deadlocks if the waiter holds a snapshot.
    with connect(empty_database) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        migrators = [
            subprocess.Popen(
                alembic_command(ALEMBIC_INI, "upgrade", "head"),
                env=migrator_env(empty_database),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        wait_for_sessions(holder, "migrator", 2)
        time.sleep(1.5)  # a few polls each, so both have said they are waiting
        assert all(m.poll() is None for m in migrators), "a migrator did not wait for the lock"
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        outputs = [m.communicate(timeout=120)[0] for m in migrators]

    assert [m.returncode for m in migrators] == [0, 0], outputs
    joined = "\n".join(outputs)
    assert joined.count(f"Running upgrade  -> {BASE_REVISION}") == 1
    assert joined.count(f"-> {HEAD_REVISION}") == 1
    assert all("waiting for the migration lock" in output for output in outputs)
    assert revision_of(empty_database) == HEAD_REVISION


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
    # The revisions before it applied and stay; the failing one left nothing behind.
    assert revision_of(empty_database) == HEAD_REVISION
    assert "nickname" not in columns_of_users(empty_database)
    assert "bio" in columns_of_users(empty_database)

    failing.write_text(failing.read_text().replace('op.execute("SELECT 1 / 0")', "pass"))
    alembic(empty_database, "upgrade", "head", ini=scratch.ini)
    assert revision_of(empty_database) == "e3c3c3c3c3c3"
    assert "nickname" in columns_of_users(empty_database)


def test_index_build_replaces_an_invalid_leftover(migrated_database: URL) -> None:
    index_revision = revision_named("index posts by user and id")
    alembic(migrated_database, "downgrade", str(revision_before(index_revision)))
    with connect(migrated_database) as db:
        db.execute("INSERT INTO users (username, email) VALUES ('a', 'a@example.com')")
        user_id = db.execute("SELECT id FROM users").fetchone()
        assert user_id is not None
        for title in ("one", "two"):
            db.execute(
                "INSERT INTO posts (title, content, user_id) VALUES (%s, 'c', %s)",
                (title, user_id[0]),
            )
        # An interrupted build: a unique index on user_id fails on the duplicates and is
        # left behind INVALID, under the very name the revision builds.
        with pytest.raises(psycopg.errors.UniqueViolation):
            db.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_posts_user_id_id ON posts (user_id)")
        assert db.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_posts_user_id_id'::regclass"
        ).fetchone() == (False,)

    alembic(migrated_database, "upgrade", "head")

    with connect(migrated_database) as db:
        valid, definition = db.execute(
            "SELECT indisvalid, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indexrelid = 'ix_posts_user_id_id'::regclass"
        ).fetchone() or (None, None)
    assert valid is True
    assert str(definition).endswith("USING btree (user_id, id)")


def test_offline_sql_carries_the_timeouts_for_review(empty_database: URL) -> None:
    sql = alembic(
        empty_database, "upgrade", "head", "--sql",
        MIGRATOR_LOCK_TIMEOUT="4", MIGRATOR_STATEMENT_TIMEOUT="120",
    ).stdout  # fmt: skip
    assert sql.index("SET lock_timeout = '4000ms'") < sql.index("CREATE TABLE users")
    assert "SET statement_timeout = '120000ms'" in sql
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_posts_user_id_id" in sql


def test_a_waiting_migrator_gives_up_after_the_lock_wait(migrated_database: URL) -> None:
    with connect(migrated_database) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        result = alembic(
            migrated_database, "upgrade", "head", check=False, MIGRATOR_LOCK_WAIT_SECONDS="1"
        )
        holder_pid = holder.info.backend_pid
    assert result.returncode != 0
    assert "MIGRATOR_LOCK_WAIT_SECONDS" in result.stderr
    assert f"pid {holder_pid}" in result.stderr


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
