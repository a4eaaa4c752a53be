"""Connecting to the database the way a one-shot job should: retry briefly, then fail clearly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, create_engine, pool
from sqlalchemy.exc import OperationalError

from shared_models import DatabaseSettings

log = logging.getLogger("migrator")


class DatabaseUnavailableError(RuntimeError):
    pass


def create_migration_engine(settings: DatabaseSettings) -> Engine:
    # One connection for one run: nothing to pool.
    return create_engine(
        settings.url("psycopg"),
        poolclass=pool.NullPool,
        connect_args={
            "connect_timeout": max(1, round(settings.postgres_connect_timeout)),
            # Names the migrator in pg_stat_activity, and in "held by" messages.
            "application_name": "migrator",
        },
    )


def connect_with_retry(
    engine: Engine,
    deadline_seconds: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Connection:
    """Connect, retrying with capped exponential backoff until ``deadline_seconds`` pass."""
    give_up_at = time.monotonic() + deadline_seconds
    delay = 0.25
    attempt = 1
    while True:
        try:
            return engine.connect()
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            if time.monotonic() + delay > give_up_at:
                raise DatabaseUnavailableError(
                    f"database {engine.url.render_as_string(hide_password=True)} "
                    f"not reachable after {attempt} attempts in {deadline_seconds:g}s "
                    f"(MIGRATOR_DB_WAIT_SECONDS): {reason}"
                ) from None
            log.info(
                "database not ready (attempt %d): %s; retrying in %.2gs", attempt, reason, delay
            )
            sleep(delay)
            attempt += 1
            delay = min(delay * 2, 2.0)
