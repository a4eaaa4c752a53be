"""How every alembic command reaches the database: what migrations/env.py calls.

On its own connection (the container, the CLI), a command that writes the schema
(upgrade, downgrade, stamp: the commands alembic gives a destination revision) runs
with the migrator's safety rails:

1. wait for the database (bounded retries),
2. take the migration advisory lock, so concurrent migrators run one at a time,
3. set lock_timeout and statement_timeout, and retry lock timeouts with backoff,
4. apply each revision in its own transaction,
5. grant the API role row privileges on every table.

Read-only commands (current, check, revision --autogenerate) only wait for the
database. A caller may instead hand in its own Engine or Connection
(``config.attributes["connection"]``, as alembic's cookbook and pytest-alembic do):
then the revisions run on it as they are, with none of the above.

Before any of it, env.py validates what the command reads (``settings_read``) with
shared_models.startup, like every program of the stack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
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
from migrator.settings import (
    MIGRATOR_SETTINGS,
    MIGRATOR_SQL_SETTINGS,
    MigratorDatabaseSettings,
    MigratorSettings,
)
from shared_models.settings import EnvSettings

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


# alembic's on_version_apply: called after each revision, inside its transaction.
OnVersionApply = Callable[..., None]


def run_on(
    metadata: MetaData, connection: Connection, revision_log: OnVersionApply | None = None
) -> None:
    configure(metadata, connection=connection, on_version_apply=revision_log or RevisionLog())
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


def run_offline(metadata: MetaData) -> None:
    """``--sql``: print the script for review, with the timeouts it would run under."""
    configure(metadata, dialect_name="postgresql", literal_binds=True)
    for statement in timeout_statements(MigratorSettings.load()):
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def run_on_callers(
    metadata: MetaData,
    connectable: Engine | Connection,
    on_version_apply: OnVersionApply | None = None,
) -> None:
    """A caller's Engine (connect, run, commit) or Connection, which must have no
    transaction open: each revision begins and commits its own, and the caller's
    connection is left with nothing pending. The caller may watch each revision end
    (``config.attributes["on_version_apply"]``, as migrator.plan does)."""
    if isinstance(connectable, Engine):
        with connectable.connect() as connection:
            run_on(metadata, connection, on_version_apply)
            connection.commit()
        return
    if connectable.in_transaction():
        raise MigratorError(
            "config.attributes['connection'] has a transaction open; commit or roll it "
            "back first, so each revision runs in a transaction of its own"
        )
    run_on(metadata, connectable, on_version_apply)


def run_online(metadata: MetaData) -> None:
    """The migrator's own connection, with its safety rails for commands that write."""
    settings = MigratorSettings.load()
    database = MigratorDatabaseSettings.load()
    engine = create_migration_engine(
        database.url("psycopg"), database.postgres_connect_timeout, "migrator"
    )
    try:
        lock_connection = connect_with_retry(engine, settings.migrator_db_wait_seconds)
        if not writes_schema():
            with lock_connection:  # read-only: no lock, no timeouts
                run_on(metadata, lock_connection)
            return
        started = time.monotonic()
        revisions = RevisionLog()
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
