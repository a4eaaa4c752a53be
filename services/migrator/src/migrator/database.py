"""Connecting the way a one-shot job should: retry briefly, then fail clearly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, create_engine, pool
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from migrator.errors import MigratorError

log = logging.getLogger("migrator")


class DatabaseUnavailableError(MigratorError):
    pass


def create_migration_engine(url: URL, connect_timeout: float, application: str) -> Engine:
    # One connection at a time for one run: nothing to pool.
    return create_engine(
        url,
        poolclass=pool.NullPool,
        connect_args={
            "connect_timeout": max(1, round(connect_timeout)),
            # Names the step in pg_stat_activity, and in "held by" messages.
            "application_name": application,
        },
    )


def first_line(exc: OperationalError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def connect_with_retry(
    engine: Engine,
    deadline_seconds: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Connection:
    """Connect, retrying with capped exponential backoff until ``deadline_seconds`` pass.

    A refused password is not retried: waiting does not fix it."""
    give_up_at = time.monotonic() + deadline_seconds
    delay = 0.25
    attempt = 1
    where = engine.url.render_as_string(hide_password=True)
    while True:
        try:
            return engine.connect()
        except OperationalError as exc:
            reason = first_line(exc)
            if "password authentication failed" in reason:
                raise DatabaseUnavailableError(f"database {where}: {reason}") from None
            if time.monotonic() + delay > give_up_at:
                raise DatabaseUnavailableError(
                    f"database {where} not reachable after {attempt} attempts in "
                    f"{deadline_seconds:g}s (MIGRATOR_DB_WAIT_SECONDS): {reason}"
                ) from None
            log.info(
                "database not ready (attempt %d): %s; retrying in %.2gs", attempt, reason, delay
            )
            sleep(delay)
            attempt += 1
            delay = min(delay * 2, 2.0)
