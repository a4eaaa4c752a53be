"""Changing the rows of a big table without holding a lock for long: a revision's
backfill, in batches by key range, each one short transaction that records its last key
(in ``migrator_backfill``) with its rows. Throttled, resumable after a kill, stopped by
SIGTERM after the batch in flight, logging its progress (docs/schema-changes.md).
A revision calls ``run_in_revision(Backfill(...))``.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alembic import op
from sqlalchemy import Connection, Row, text
from sqlalchemy.exc import DBAPIError

from migrator.errors import MigratorError
from migrator.lock_timeouts import is_lock_timeout
from migrator.run import run_of
from migrator.settings import BackfillSettings

log = logging.getLogger("migrator.backfill")

PROGRESS = "migrator_backfill"
CREATE_PROGRESS = text(f"""
CREATE TABLE IF NOT EXISTS {PROGRESS} (
    name text PRIMARY KEY,
    last_key bigint NOT NULL,
    rows_done bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now()
)""")

# Change the fetched rows (the connection is inside the batch's transaction); return how
# many were changed.
ChangeRows = Callable[[Connection, Sequence[Row[Any]]], int]


class BackfillStoppedError(MigratorError):
    pass


@dataclass(frozen=True)
class Backfill:
    name: str  # its progress row: one name per backfill, e.g. "users.username_key"
    table: str
    columns: str  # what each batch reads of a row, the key included: "id, username"
    change: ChangeRows
    key: str = "id"  # unique and ordered: the primary key
    # Only the rows still to change (say "username_key IS NULL"): a rerun, or a second
    # pass for rows written meanwhile, then locks and changes only those.
    where: str | None = None


@dataclass
class Progress:
    rows_done: int
    last_key: int
    first_key: int
    last_target: int  # the table's largest key when the run began
    started: float
    logged: float

    def fraction(self) -> float:
        span = self.last_target - self.first_key
        return 1.0 if span <= 0 else min(1.0, (self.last_key - self.first_key) / span)


@dataclass
class StopRequest:
    asked: bool = False  # SIGTERM came: stop after the batch in flight


@contextmanager
def stop_on_sigterm() -> Iterator[StopRequest]:
    """What SIGTERM asks (for the batch loop to read), the old handler restored after."""
    request = StopRequest()

    def ask_to_stop(signum: int, frame: object) -> None:
        request.asked = True
        log.warning("SIGTERM: stopping after the batch in flight")

    try:
        previous = signal.signal(signal.SIGTERM, ask_to_stop)
    except ValueError:  # not the main thread: nobody but the caller can stop it then
        yield request
        return
    try:
        yield request
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_in_revision(backfill: Backfill) -> None:
    """A revision's backfill, in alembic's autocommit block, with the run's settings; in
    plan mode (migrator.run) handed to the plan, to be reported in its place, not run."""
    context = op.get_context()
    run = run_of(context.config)
    settings = run.backfill_settings()
    with context.autocommit_block():
        if run.plan_backfill is not None:
            run.plan_backfill(backfill, settings)
        else:
            run_backfill(op.get_bind(), backfill, settings)


def run_backfill(
    connection: Connection,
    backfill: Backfill,
    settings: BackfillSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``backfill`` to its end on ``connection`` (autocommit); returns the rows changed
    by this run. Raises BackfillStoppedError when stopped, with the progress kept."""
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        # Inside alembic's autocommit_block it is already (with a transaction of its
        # own that only SQLAlchemy sees: the level cannot be set again then).
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    connection.execute(CREATE_PROGRESS)
    bounds = connection.execute(
        text(f"SELECT coalesce(min({backfill.key}), 0) - 1, coalesce(max({backfill.key}), 0) "  # noqa: S608
             f"FROM {backfill.table}")
    ).one()  # fmt: skip
    connection.execute(
        text(f"INSERT INTO {PROGRESS} (name, last_key) VALUES (:name, :first) "  # noqa: S608
             "ON CONFLICT (name) DO NOTHING"),
        {"name": backfill.name, "first": bounds[0]},
    )  # fmt: skip
    resumed = connection.execute(
        text(f"SELECT last_key, rows_done FROM {PROGRESS} WHERE name = :name"),  # noqa: S608
        {"name": backfill.name},
    ).one()
    now = time.monotonic()
    progress = Progress(0, resumed.last_key, resumed.last_key, bounds[1], now, now)
    if resumed.rows_done:
        log.info(
            "%s: resuming after key %d (%d rows done before)",
            backfill.name, resumed.last_key, resumed.rows_done,
        )  # fmt: skip
    with stop_on_sigterm() as stop:
        while True:
            fetched = batch_with_retries(connection, backfill, settings, progress, sleep)
            if not fetched:
                break
            throttle(progress, settings, sleep)
            report(backfill, progress, settings)
            if stop.asked:
                raise BackfillStoppedError(
                    f"{backfill.name} stopped after key {progress.last_key} "
                    f"({progress.rows_done} rows this run): run the migrator again to go on"
                )
    finish(connection, backfill, progress)
    return progress.rows_done


def batch_with_retries(
    connection: Connection,
    backfill: Backfill,
    settings: BackfillSettings,
    progress: Progress,
    sleep: Callable[[float], None],
) -> int:
    delay = 0.5
    for attempt in range(settings.migrator_backfill_lock_retries + 1):
        try:
            return one_batch(connection, backfill, settings, progress)
        except DBAPIError as exc:
            if not is_lock_timeout(exc) or attempt == settings.migrator_backfill_lock_retries:
                raise
            log.warning(
                "%s: a batch waited past its lock_timeout (attempt %d); again in %gs",
                backfill.name, attempt + 1, delay,
            )  # fmt: skip
            sleep(delay)
            delay = min(delay * 2, 10.0)
    raise AssertionError("unreachable")  # pragma: no cover


def one_batch(
    connection: Connection, backfill: Backfill, settings: BackfillSettings, progress: Progress
) -> int:
    """One transaction: the next rows after the last key done, changed, and the new last
    key recorded with them. Returns the rows read (0: nothing left).

    The connection is in autocommit (alembic's autocommit_block): the transaction is an
    explicit BEGIN ... COMMIT of its own."""
    with transaction(connection):
        connection.execute(
            text("SELECT set_config('lock_timeout', :value, true)"),
            {"value": f"{round(settings.migrator_backfill_lock_timeout * 1000)}ms"},
        )
        last = connection.execute(
            text(f"SELECT last_key FROM {PROGRESS} WHERE name = :name FOR UPDATE"),  # noqa: S608
            {"name": backfill.name},
        ).scalar_one()
        still_to_do = f" AND ({backfill.where})" if backfill.where else ""
        rows = connection.execute(
            text(f"SELECT {backfill.columns} FROM {backfill.table} "  # noqa: S608
                 f"WHERE {backfill.key} > :last{still_to_do} ORDER BY {backfill.key} "
                 "LIMIT :size FOR NO KEY UPDATE"),
            {"last": last, "size": settings.migrator_backfill_batch_size},
        ).all()  # fmt: skip
        if not rows:
            return 0
        changed = backfill.change(connection, rows)
        new_last = int(getattr(rows[-1], backfill.key))
        connection.execute(
            text(f"UPDATE {PROGRESS} SET last_key = :last, rows_done = rows_done + :changed "  # noqa: S608
                 "WHERE name = :name"),
            {"last": new_last, "changed": changed, "name": backfill.name},
        )  # fmt: skip
    progress.last_key = new_last
    progress.rows_done += changed
    return len(rows)


@contextmanager
def transaction(connection: Connection) -> Iterator[None]:
    connection.exec_driver_sql("BEGIN")
    try:
        yield
    except BaseException:
        connection.exec_driver_sql("ROLLBACK")
        raise
    connection.exec_driver_sql("COMMIT")


def throttle(
    progress: Progress, settings: BackfillSettings, sleep: Callable[[float], None]
) -> None:
    """Sleep as long as it takes to keep this run's rate at the target."""
    target = settings.migrator_backfill_rows_per_second
    if not target:
        return
    ahead = progress.rows_done / target - (time.monotonic() - progress.started)
    if ahead > 0:
        sleep(ahead)


def report(backfill: Backfill, progress: Progress, settings: BackfillSettings) -> None:
    now = time.monotonic()
    if now - progress.logged < settings.migrator_backfill_log_seconds:
        return
    progress.logged = now
    elapsed = now - progress.started
    rate = progress.rows_done / elapsed if elapsed else 0.0
    fraction = progress.fraction()
    left = elapsed * (1 - fraction) / fraction if fraction else float("nan")
    log.info(
        "%s: %d rows done, %.0f rows/s, %.0f%%, about %.0fs left",
        backfill.name, progress.rows_done, rate, fraction * 100, left,
        extra={"backfill": backfill.name, "rows_done": progress.rows_done,
               "rows_per_s": round(rate), "seconds_left": round(left, 1)},
    )  # fmt: skip


def finish(connection: Connection, backfill: Backfill, progress: Progress) -> None:
    """Its progress row goes, and the progress table with the last one."""
    elapsed = time.monotonic() - progress.started
    connection.execute(
        text(f"DELETE FROM {PROGRESS} WHERE name = :name"),  # noqa: S608
        {"name": backfill.name},
    )
    if not connection.execute(text(f"SELECT 1 FROM {PROGRESS} LIMIT 1")).first():  # noqa: S608
        connection.execute(text(f"DROP TABLE IF EXISTS {PROGRESS}"))
    log.info(
        "%s: done, %d rows changed in %.1fs", backfill.name, progress.rows_done, elapsed,
        extra={"backfill": backfill.name, "rows_done": progress.rows_done,
               "duration_s": round(elapsed, 3)},
    )  # fmt: skip
