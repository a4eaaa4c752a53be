"""DDL that waits for a table lock must not wait for long: every query on that table
queues behind it. Each statement gets a ``lock_timeout``; when it strikes, the
revision rolls back, the migrator backs off and tries again, and in the end names
the session that held the lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from migrator.errors import MigratorError
from migrator.sessions import lock_holders
from migrator.settings import MigratorSettings

log = logging.getLogger("migrator")

LOCK_NOT_AVAILABLE = "55P03"


class LockTimeoutExhaustedError(MigratorError):
    pass


def timeouts(settings: MigratorSettings) -> dict[str, str]:
    return {
        "lock_timeout": f"{round(settings.migrator_lock_timeout * 1000)}ms",
        "statement_timeout": f"{round(settings.migrator_statement_timeout * 1000)}ms",
    }


def apply_timeouts(connection: Connection, settings: MigratorSettings) -> None:
    """Session-level timeouts, committed so a rolled-back revision cannot undo them."""
    for name, value in timeouts(settings).items():
        connection.execute(
            text("SELECT set_config(:name, :value, false)"), {"name": name, "value": value}
        )
    connection.commit()


def timeout_statements(settings: MigratorSettings) -> list[str]:
    """The same settings as SQL, for scripts printed with --sql."""
    return [f"SET {name} = '{value}'" for name, value in timeouts(settings).items()]


def is_lock_timeout(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and (
        getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE
    )


def with_lock_retries(
    run: Callable[[], None],
    connection: Connection,
    settings: MigratorSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run ``run``; after a lock timeout roll back, back off and retry, a bounded number of times.

    Revisions that completed before the timeout stay applied (one transaction each),
    so each attempt continues where the last one stopped.
    """
    delay = 1.0
    for attempt in range(settings.migrator_lock_retries + 1):
        try:
            run()
            return
        except DBAPIError as exc:
            if not is_lock_timeout(exc):
                raise
            connection.rollback()
            blockers = lock_holders(connection)
            connection.rollback()
            if attempt == settings.migrator_lock_retries:
                raise LockTimeoutExhaustedError(
                    f"gave up after {attempt + 1} attempts: each waited "
                    f"{settings.migrator_lock_timeout:g}s (MIGRATOR_LOCK_TIMEOUT) for a lock "
                    f"held by: {blockers}"
                ) from None
            log.warning(
                "lock timeout (attempt %d of %d), retrying in %gs; held by: %s",
                attempt + 1,
                settings.migrator_lock_retries + 1,
                delay,
                blockers,
            )
            sleep(delay)
            delay = min(delay * 2, 30.0)
