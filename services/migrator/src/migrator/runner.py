"""How every alembic command reaches the database: what migrations/env.py calls.

On the migrator's own connection, upgrade, downgrade and stamp run with its safety rails
(a bounded wait for the database, the advisory lock, lock and statement timeouts with
retries, a transaction per revision, the API role's grants); read-only commands only
wait for the database. On a caller's connection the revisions run as they are.
"""

from __future__ import annotations

import logging
import time
from typing import NoReturn

from alembic import context
from alembic.runtime.migration import MigrationInfo
from sqlalchemy import Connection, Engine, MetaData

from migrator.advisory_lock import migration_lock
from migrator.backfill import PROGRESS
from migrator.database import connect_with_retry, create_migration_engine
from migrator.errors import MigratorError
from migrator.grants import grant_api_role
from migrator.lock_timeouts import apply_timeouts, timeout_statements, with_lock_retries
from migrator.monitoring import Outcome, record_run
from migrator.run import MigratorRun, OnRevision
from migrator.settings import (
    MIGRATOR_SETTINGS,
    MIGRATOR_SQL_SETTINGS,
    MigratorDatabaseSettings,
    MigratorSettings,
)
from shared_models.settings import EnvSettings
from shared_models.startup import Settings, load, start

log = logging.getLogger("migrator")


def settings_read(*, offline: bool, callers_connection: bool) -> tuple[type[EnvSettings], ...]:
    """What an alembic command reads from the environment, so what env.py validates first:
    with --sql only the timeouts it prints (and the logging); on a caller's connection
    nothing (the logging aside, which falls back to its defaults); else all the migrator's."""
    if offline:
        return MIGRATOR_SQL_SETTINGS
    if callers_connection:
        return ()
    return MIGRATOR_SETTINGS


def start_up(run: MigratorRun, *, offline: bool) -> Settings:
    """The run's settings: its program's when it has them (the plan's), else what this
    command reads, loaded once here, with logging configured unless the caller keeps its
    own."""
    if run.settings is None:
        classes = settings_read(offline=offline, callers_connection=run.connection is not None)
        run.settings = (start if run.configure_logging else load)("migrator", classes)
    return run.settings


def not_the_migrators_own(name: str | None, kind: str, parents: object) -> bool:
    """autogenerate's filter: the migrator's own bookkeeping (a backfill's progress
    table, while one is unfinished) is no table of the models."""
    return not (kind == "table" and name == PROGRESS)


def configure(metadata: MetaData, **options: object) -> None:
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        include_name=not_the_migrators_own,
        # One transaction per revision: a failing revision rolls back alone and
        # alembic_version keeps naming the last one that really applied.
        transaction_per_migration=True,
        **options,  # type: ignore[arg-type]
    )


class RevisionLog:
    """Logs each revision applied or undone, with how long it took (alembic's
    on_version_apply hook), and counts them."""

    def __init__(self) -> None:
        self.applied = 0
        self.mark = time.monotonic()

    def __call__(self, *, step: MigrationInfo, **_: object) -> None:
        now = time.monotonic()
        direction = "stamped" if step.is_stamp else "applied" if step.is_upgrade else "undid"
        milliseconds = round((now - self.mark) * 1000)
        log.info(
            "%s revision %s (%s) in %d ms",
            direction,
            step.up_revision_id,
            getattr(step.up_revision, "doc", ""),  # a Script, which has its message
            milliseconds,
            extra={"revision": step.up_revision_id, "direction": direction,
                   "duration_ms": milliseconds},
        )  # fmt: skip
        self.applied += 1
        self.mark = now


def run_on(
    metadata: MetaData, connection: Connection, on_revision: OnRevision | None = None
) -> None:
    configure(metadata, connection=connection, on_version_apply=on_revision or RevisionLog())
    with context.begin_transaction():
        context.run_migrations()


def writes_schema() -> bool:
    """upgrade, downgrade and stamp: alembic gives these commands, and only these, a
    destination revision; asking the others for it raises KeyError."""
    try:
        context.get_revision_argument()
    except KeyError:
        return False
    return True


def fail(message: str) -> NoReturn:
    log.error("%s", message, extra={"outcome": "failed"})
    raise SystemExit(1)


def run_offline(metadata: MetaData, settings: Settings) -> None:
    """``--sql``: print the script for review, with the timeouts it would run under."""
    configure(metadata, dialect_name="postgresql", literal_binds=True)
    for statement in timeout_statements(settings[MigratorSettings]):
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def run_on_callers(
    metadata: MetaData,
    connectable: Engine | Connection,
    on_revision: OnRevision | None = None,
) -> None:
    """A caller's Engine (connect, run, commit) or Connection, which must have no
    transaction open: each revision begins and commits its own, and the caller's
    connection is left with nothing pending. The caller may watch each revision end
    (``MigratorRun.on_revision``, as the plan does)."""
    if isinstance(connectable, Engine):
        with connectable.connect() as connection:
            run_on(metadata, connection, on_revision)
            connection.commit()
        return
    if connectable.in_transaction():
        raise MigratorError(
            "the caller's connection has a transaction open; commit or roll it back "
            "first, so each revision runs in a transaction of its own"
        )
    run_on(metadata, connectable, on_revision)


def run_online(metadata: MetaData, loaded: Settings) -> None:
    """The migrator's own connection, with its safety rails for commands that write."""
    settings, database = loaded[MigratorSettings], loaded[MigratorDatabaseSettings]
    engine = create_migration_engine(
        database.url("psycopg"), database.postgres_connect_timeout, "migrator"
    )
    # Set once the database answered and the command writes: what monitoring is told.
    outcome: Outcome | None = None
    try:
        lock_connection = connect_with_retry(engine, settings.migrator_db_wait_seconds)
        if not writes_schema():
            with lock_connection:  # read-only: no lock, no timeouts
                run_on(metadata, lock_connection)
            return
        started = time.monotonic()
        revisions = RevisionLog()
        outcome = Outcome.FAILED
        with (
            lock_connection,
            migration_lock(lock_connection, settings.migrator_lock_wait_seconds),
            engine.connect() as connection,
        ):
            apply_timeouts(connection, settings)
            run = lambda: run_on(metadata, connection, revisions)  # noqa: E731
            with_lock_retries(run, connection, settings)
            connection.commit()
            grant_api_role(connection, database.api_db_user)
        outcome = Outcome.SUCCEEDED
        seconds = time.monotonic() - started
        log.info(
            "done: %d revision(s) in %.1fs",
            revisions.applied,
            seconds,
            extra={"outcome": "succeeded", "revisions": revisions.applied,
                   "duration_s": round(seconds, 3)},
        )  # fmt: skip
    except MigratorError as exc:
        fail(str(exc))
    except Exception:
        # A failing revision: one log line with the traceback, then a non-zero exit.
        log.exception("migration failed", extra={"outcome": "failed"})
        raise SystemExit(1) from None
    finally:
        engine.dispose()
        if outcome is not None:
            # For the monitoring profile's MigrationFailed alert (migrator.monitoring).
            record_run(
                database.url("psycopg"),
                database.postgres_connect_timeout,
                database.database_name,
                outcome,
                str(context.get_revision_argument()),
            )
