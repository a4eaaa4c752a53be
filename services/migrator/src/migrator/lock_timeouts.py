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

from migrator.settings import MigratorSettings

log = logging.getLogger("migrator")

LOCK_NOT_AVAILABLE = "55P03"


class LockTimeoutExhaustedError(RuntimeError):
    pass


def apply_timeouts(connection: Connection, settings: MigratorSettings) -> None:
    """Session-level timeouts, committed so a rolled-back revision cannot undo them."""
    for name, seconds in (
        ("lock_timeout", settings.migrator_lock_timeout),
        ("statement_timeout", settings.migrator_statement_timeout),
    ):
        connection.execute(
            text("SELECT set_config(:name, :value, false)"),
            {"name": name, "value": f"{round(seconds * 1000)}ms"},
        )
    connection.commit()


def timeout_statements(settings: MigratorSettings) -> list[str]:
    """The same settings as SQL, for scripts printed with --sql."""
    return [
        f"SET lock_timeout = '{round(settings.migrator_lock_timeout * 1000)}ms'",
        f"SET statement_timeout = '{round(settings.migrator_statement_timeout * 1000)}ms'",
    ]


def is_lock_timeout(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and (
        getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE
    )


def describe_blockers(connection: Connection) -> str:
    """Sessions that hold locks in this database, oldest transaction first."""
    rows = connection.execute(
        text(
            "SELECT a.pid, a.state, a.usename, l.mode,"
            " coalesce(l.relation::regclass::text, l.locktype) AS target,"
            " extract(epoch FROM now() - a.xact_start)::int AS seconds,"
            " left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80) AS query"
            " FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.granted AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL"
            " AND l.locktype IN ('relation', 'virtualxid', 'transactionid')"
            " AND (l.database IS NULL OR l.database ="
            "      (SELECT oid FROM pg_database WHERE datname = current_database()))"
            " AND coalesce(l.relation::regclass::text, '') NOT LIKE 'pg\\_%'"
            " AND (l.locktype = 'relation' OR a.backend_xmin IS NOT NULL)"
            " ORDER BY a.xact_start, a.pid LIMIT 10"
        )
    ).all()
    if not rows:
        return "no session holds a lock now"
    seen: dict[int, list[str]] = {}
    for row in rows:
        held = seen.setdefault(
            row.pid,
            [
                f"pid {row.pid} ({row.usename}, {row.state} "
                f"for {row.seconds}s, last query: {row.query!r})"
            ],
        )
        if row.target not in ("virtualxid", "transactionid"):
            held.append(f"{row.mode} on {row.target}")
    return "; ".join(", ".join(parts) for parts in seen.values())


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
            blockers = describe_blockers(connection)
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
