"""A revision's backfill (migrator.backfill): every row changed once, in short batches,
throttled, resumed after a kill, stopped by SIGTERM, patient with a lock, and gone when
done."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Connection, Row, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from harness.databases import connect
from harness.paths import ROOT
from harness.roles import as_api_role, as_owner
from migrator.backfill import PROGRESS, Backfill, run_backfill
from migrator.frozen.username_key_955dbf0e03fd import set_username_keys
from migrator.settings import BackfillSettings
from shared_models.identity import username_key
from tests.migrator.backfill_child import BACKFILL, TABLE
from tests.migrator.support import WAITING_FOR, wait_for_lock_waiters

ROWS = 3000


@pytest.fixture
def table(migrated_database: URL) -> URL:
    """ROWS rows to backfill, in a table of the schema owner's."""
    owner = as_owner(migrated_database)
    with connect(owner) as db:
        db.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, changes int NOT NULL DEFAULT 0)")
        db.execute(f"INSERT INTO {TABLE} (id) SELECT generate_series(1, {ROWS})")
    return owner


def changes(url: URL) -> dict[int, int]:
    """How many rows were changed how many times."""
    with connect(url) as db:
        rows = db.execute(f"SELECT changes, count(*) FROM {TABLE} GROUP BY changes").fetchall()
    return {int(str(times)): int(str(count)) for times, count in rows}


def progress_table(url: URL) -> bool:
    with connect(url) as db:
        return db.execute("SELECT to_regclass(%s)", (PROGRESS,)).fetchone() != (None,)


def run(url: URL, where: str | None = None, **settings: Any) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return run_backfill(
                connection,
                replace(BACKFILL, where=where),
                BackfillSettings(migrator_backfill_batch_size=100, **settings),
            )
    finally:
        engine.dispose()


def child(url: URL, rows_per_second: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.migrator.backfill_child",
         url.render_as_string(hide_password=False), str(rows_per_second)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    return process


def wait_for_rows_done(url: URL, at_least: int) -> None:
    give_up_at = time.monotonic() + 30
    while sum(n for times, n in changes(url).items() if times) < at_least:
        assert time.monotonic() < give_up_at, "the backfill made no progress"
        time.sleep(0.05)


def test_every_row_is_changed_once_and_nothing_is_left_behind(
    table: URL, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="migrator.backfill"):
        assert run(table, migrator_backfill_log_seconds=0.000001) == ROWS
    assert changes(table) == {1: ROWS}
    assert not progress_table(table)
    assert "rows/s" in caplog.text
    assert "left" in caplog.text
    assert f"done, {ROWS} rows changed" in caplog.text


def test_a_run_killed_halfway_is_resumed_with_no_row_done_twice_or_skipped(table: URL) -> None:
    process = child(table, rows_per_second=2000)
    wait_for_rows_done(table, ROWS // 3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    done_before = changes(table)
    assert 0 < done_before.get(1, 0) < ROWS, done_before
    assert progress_table(table)  # the progress survived the kill
    assert run(table) == ROWS - done_before[1]
    assert changes(table) == {1: ROWS}
    assert not progress_table(table)


def test_sigterm_stops_it_after_the_batch_in_flight_and_a_rerun_goes_on(table: URL) -> None:
    process = child(table, rows_per_second=2000)
    wait_for_rows_done(table, ROWS // 3)
    process.send_signal(signal.SIGTERM)
    output, errors = process.communicate(timeout=30)
    assert process.returncode == 3, output + errors
    assert "stopped after key" in output
    assert "run the migrator again" in output
    done_before = changes(table)
    assert set(done_before) == {0, 1}  # whole batches: no row half done
    assert done_before[1] % 100 == 0
    assert run(table) == done_before[0]
    assert changes(table) == {1: ROWS}


def test_a_locked_row_is_waited_for_in_short_tries(table: URL) -> None:
    with connect(table) as locker:
        locker.execute("BEGIN")
        locker.execute(f"SELECT * FROM {TABLE} WHERE id = 150 FOR UPDATE")
        process = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from tests.migrator.test_backfill import run; "
             "from sqlalchemy.engine import make_url; "
             "print(run(make_url(sys.argv[1]), migrator_backfill_lock_timeout=0.2))",
             table.render_as_string(hide_password=False)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # A try waits for the row, gives up at its lock_timeout, and a later try waits again.
        holder = locker.info.backend_pid
        wait_for_lock_waiters(locker, blocked_by=holder, present=True)
        wait_for_lock_waiters(locker, blocked_by=holder, present=False)
        wait_for_lock_waiters(locker, blocked_by=holder, present=True)
        assert process.poll() is None, process.communicate()
        locker.execute("ROLLBACK")
    _output, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    assert "waited past its lock_timeout" in errors
    assert changes(table) == {1: ROWS}


def test_it_keeps_to_the_rate_it_is_given(table: URL) -> None:
    started = time.monotonic()
    run(table, migrator_backfill_rows_per_second=1000)
    took = time.monotonic() - started
    # 3,000 rows at 1,000 a second: 3 s, and later only by what the machine adds.
    assert 2.8 < took < 8, took


def test_a_second_pass_changes_only_the_rows_still_to_do(table: URL) -> None:
    """The catch-up for rows written meanwhile by code that did not fill them in."""
    with connect(table) as db:
        db.execute(f"UPDATE {TABLE} SET changes = 1 WHERE id % 7 <> 0")
    assert run(table, where="changes = 0") == ROWS // 7
    assert changes(table) == {1: ROWS}


def test_a_row_in_an_open_batch_waits_for_it_and_keeps_its_new_key(migrated_database: URL) -> None:
    """The API renames a user (name and key in one UPDATE) while a batch holding that row
    is computing keys: the UPDATE must wait for the batch, or the batch, writing after
    it, would give the new name the key of the old one."""
    owner = as_owner(migrated_database)
    with connect(owner) as db:
        db.execute(
            "INSERT INTO users (username, username_key, email) SELECT 'user' || i,"
            " 'user' || i, 'user' || i || '@example.org' FROM generate_series(1, 10) AS i"
        )
        (renamed,) = db.execute("SELECT min(id) + 4 FROM users").fetchone() or (0,)
    api_done = threading.Event()
    waited_for_the_batch: list[bool] = []

    def rename_as_the_api() -> None:
        with connect(as_api_role(migrated_database)) as api:
            api.execute(
                "UPDATE users SET username = %s, username_key = %s WHERE id = %s",
                ("Renamed", username_key("Renamed"), renamed),
            )
        api_done.set()

    rename = threading.Thread(target=rename_as_the_api)

    def keys_while_the_api_renames(connection: Connection, rows: Sequence[Row[Any]]) -> int:
        batch = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        rename.start()
        with connect(owner) as watcher:
            give_up_at = time.monotonic() + 60
            while not api_done.is_set() and time.monotonic() < give_up_at:
                waiting = watcher.execute(WAITING_FOR, (batch,)).fetchone()
                if waiting is not None and int(str(waiting[0])):
                    break
                time.sleep(0.02)
        waited_for_the_batch.append(not api_done.is_set())
        return set_username_keys(connection, rows)

    keyed = Backfill("test.users", "users", "id, username", keys_while_the_api_renames)
    engine = create_engine(owner, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            run_backfill(connection, keyed, BackfillSettings(migrator_backfill_batch_size=100))
    finally:
        engine.dispose()
    rename.join(timeout=60)
    assert waited_for_the_batch == [True], "the API's UPDATE did not wait for the batch"
    with connect(owner) as db:
        row = db.execute("SELECT username, username_key FROM users WHERE id = %s", (renamed,))
        assert row.fetchone() == ("Renamed", username_key("Renamed"))
