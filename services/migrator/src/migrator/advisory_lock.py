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

from migrator.errors import MigratorError
from migrator.sessions import lock_holders

log = logging.getLogger("migrator")

# Any fixed 64-bit number; the same in every migrator of this schema. ("migrate" in ASCII.)
MIGRATION_LOCK_KEY = 0x6D6967726174_65


class MigrationLockTimeoutError(MigratorError):
    pass


@contextmanager
def migration_lock(
    connection: Connection, wait_seconds: float, poll_seconds: float = 0.5
) -> Iterator[None]:
    """Hold the migration lock on ``connection`` (autocommit) for the ``with`` block."""
    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    started = time.monotonic()
    announced = False
    while not connection.scalar(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
    ):
        if time.monotonic() - started > wait_seconds:
            raise MigrationLockTimeoutError(
                f"another migrator held the migration lock for over {wait_seconds:g}s "
                f"(MIGRATOR_LOCK_WAIT_SECONDS); holder: "
                f"{lock_holders(connection, MIGRATION_LOCK_KEY)}"
            )
        if not announced:
            holder = lock_holders(connection, MIGRATION_LOCK_KEY)
            log.info("waiting for the migration lock, held by %s", holder)
            announced = True
        time.sleep(poll_seconds)
    if announced:
        log.info("got the migration lock after %.1fs", time.monotonic() - started)
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
