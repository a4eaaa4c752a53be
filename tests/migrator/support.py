"""What the tests of the migrator's modules share: scratch revisions, a long transaction
in the way, and ways to watch the migrator's sessions and the schema."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy.engine import URL

from harness.databases import connect

# A scratch revision's upgrade and downgrade: a column added to users.
ADD_NICKNAME = "op.add_column('users', sa.Column('nickname', sa.Text()))"
DROP_NICKNAME = "op.drop_column('users', 'nickname')"


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


# How many sessions wait for a lock the session ``pid`` holds (the lock manager's state,
# read afresh at every query, inside a transaction too).
WAITING_FOR = "SELECT count(*) FROM pg_locks WHERE NOT granted AND %s = ANY(pg_blocking_pids(pid))"


def wait_for_lock_waiters(
    db: psycopg.Connection[tuple[object, ...]], *, blocked_by: int, present: bool
) -> None:
    """Until some session waits for a lock ``blocked_by`` holds (``present``), or none
    does; bounded, so a slow machine fails instead of hanging."""
    give_up_at = time.monotonic() + 60
    while time.monotonic() < give_up_at:
        row = db.execute(WAITING_FOR, (blocked_by,)).fetchone()
        if row is not None and (int(str(row[0])) > 0) == present:
            return
        time.sleep(0.02)
    raise AssertionError(f"no wait for pid {blocked_by}'s lock {'began' if present else 'ended'}")


def columns_of_users(url: URL) -> set[str]:
    with connect(url) as db:
        rows = db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
        ).fetchall()
    return {str(name) for (name,) in rows}
