"""migrator.advisory_lock: one migrator at a time, and a waiting one that gives up in time,
naming who holds the lock."""

import subprocess
import time

from sqlalchemy.engine import URL

from harness.databases import connect
from harness.paths import ALEMBIC_INI
from harness.processes import alembic, alembic_command, migrator_env, revision_of
from harness.revisions import BASE_REVISION, HEAD_REVISION
from migrator.advisory_lock import MIGRATION_LOCK_KEY
from tests.migrator.support import wait_for_sessions


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
