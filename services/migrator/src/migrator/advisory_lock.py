"""One migrator at a time, per database, via a PostgreSQL session advisory lock.

The lock is taken on a connection of its own in autocommit mode and polled with
``pg_try_advisory_lock``. Blocking in ``pg_advisory_lock`` instead would keep a
transaction (and its snapshot) open on the waiter, and ``CREATE INDEX
CONCURRENTLY`` in the holder waits for every such snapshot: a deadlock that
PostgreSQL does not detect.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

log = logging.getLogger("migrator")

# Any fixed 64-bit number; the same in every migrator of this schema. ("migrate" in ASCII.)
MIGRATION_LOCK_KEY = 0x6D6967726174_65


class MigrationLockTimeoutError(RuntimeError):
    pass


@contextmanager
def migration_lock(
    connection: Connection, wait_seconds: float, poll_seconds: float = 0.5
) -> Iterator[None]:
    """Hold the migration lock on ``connection`` (autocommit) for the ``with`` block."""
    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    give_up_at = time.monotonic() + wait_seconds
    announced = False
    while not connection.scalar(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
    ):
        if time.monotonic() > give_up_at:
            raise MigrationLockTimeoutError(
                f"another migrator held the migration lock for over {wait_seconds:g}s "
                f"(MIGRATOR_LOCK_WAIT_SECONDS); holder: {lock_holder(connection)}"
            )
        if not announced:
            log.info("waiting for the migration lock, held by %s", lock_holder(connection))
            announced = True
        time.sleep(poll_seconds)
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def lock_holder(connection: Connection) -> str:
    row = connection.execute(
        text(
            "SELECT a.pid, a.application_name, a.client_addr FROM pg_locks l"
            " JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND (l.classid::bigint << 32) | l.objid::bigint = :key"
        ),
        {"key": MIGRATION_LOCK_KEY},
    ).first()
    return f"pid {row.pid} ({row.application_name or 'unnamed'})" if row else "unknown"
