"""The username-key rollout while the API takes writes, the backfill SIGKILLed halfway.

    uv run --frozen python -m bench.username_keys_rollout [--users 100000]

Seeds users without keys, applies the expand revision, serves the API, then runs `upgrade
head`, kills it once the backfill passed half the table and runs it again (what each step
shows: bench/README.md). Prints `make plan`'s output, then a JSON report: the backfill's
rate, the API's writes before and during, the longest lock wait, the rows keyed wrong."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from sqlalchemy.engine import URL

from bench.online import options, seeded_database, writes_going_on
from harness.databases import connect
from harness.paths import ALEMBIC_INI
from harness.processes import alembic, alembic_command, migrator_env
from harness.revisions import revision_before, revision_named
from shared_models.identity import username_key

EXPAND = revision_named("username keys: expand")
MIGRATOR_ENV = {"MIGRATOR_BACKFILL_LOG_SECONDS": "1", "LOG_FORMAT": "json"}


class LockWaits:
    """The longest wait for a lock any session was seen in, sampled every 10 ms while
    the block runs."""

    def __init__(self, database: URL) -> None:
        self.database = database
        self.stop = threading.Event()
        self.longest_ms = 0.0
        self.longest_query = ""
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def __enter__(self) -> LockWaits:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def sample(self) -> None:
        with connect(self.database) as connection:
            while not self.stop.is_set():
                for waited, query in connection.execute(
                    "SELECT extract(epoch FROM now() - state_change) * 1000, query"
                    " FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                ):
                    if float(waited) > self.longest_ms:  # type: ignore[arg-type]
                        self.longest_ms, self.longest_query = float(waited), str(query)  # type: ignore[arg-type]
                time.sleep(0.01)


def run_until_half(database: URL, users: int) -> tuple[int, list[dict[str, Any]]]:
    """`upgrade head`, SIGKILLed once its backfill logged more than half the rows done."""
    migrator = subprocess.Popen(
        alembic_command(ALEMBIC_INI, "upgrade", "head"),
        env=migrator_env(database, **MIGRATOR_ENV),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert migrator.stderr is not None
    lines: list[dict[str, Any]] = []
    for line in migrator.stderr:
        record: dict[str, Any] = json.loads(line) if line.startswith("{") else {"message": line}
        lines.append(record)
        if record.get("rows_done", 0) >= users // 2 and "duration_s" not in record:
            os.kill(migrator.pid, signal.SIGKILL)
            break
    return migrator.wait(), lines


def progress(database: URL) -> tuple[int, int] | None:
    with connect(database) as connection:
        exists = connection.execute("SELECT to_regclass('migrator_backfill')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = connection.execute(
            "SELECT last_key, rows_done FROM migrator_backfill WHERE name = 'users.username_key'"
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))  # type: ignore[call-overload]


def the_plan(database: URL) -> str:
    """`make plan`'s output for the rollout, on the seeded database."""
    return subprocess.run(
        [sys.executable, "-m", "migrator.plan", "-c", str(ALEMBIC_INI)],
        env=migrator_env(database), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def wrong_keys(database: URL) -> int:
    with connect(database) as connection:
        rows = connection.execute("SELECT username, username_key FROM users").fetchall()
    return sum(1 for name, key in rows if username_key(str(name)) != key)


def backfill_lines(stderr: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [r for r in records if r.get("backfill") == "users.username_key"]


def main() -> None:
    args = options(__doc__)
    with seeded_database(str(revision_before(EXPAND)), args.users) as database:
        print(the_plan(database), flush=True)
        alembic(database, "upgrade", EXPAND)
        with writes_going_on(database, args.writers) as writes, LockWaits(database) as waits:
            writes.sleep_until(args.baseline)
            started = writes.now()
            killed_status, first_run = run_until_half(database, args.users)
            killed_at = writes.now()
            kept = progress(database)
            second = alembic(
                database, "upgrade", "head", MIGRATOR_BACKFILL_LOG_SECONDS="1", LOG_FORMAT="json"
            )
            finished = writes.now()
        writes_seen = writes.report()
        first_progress = [r for r in first_run if r.get("backfill") == "users.username_key"]
        second_lines = backfill_lines(second.stderr)
        done = next(r for r in second_lines if "duration_s" in r)
        resumed = [line for line in second.stderr.splitlines() if "resuming after key" in line]
        before_kill = kept[1] if kept else 0
        report = {
            "users": args.users,
            "writers": args.writers,
            "first_run": {
                "killed_with": "SIGKILL" if killed_status == -signal.SIGKILL else killed_status,
                "after_s": round(killed_at - started, 2),
                "last_progress_line": first_progress[-1]["message"] if first_progress else None,
                "progress_kept": {"last_key": kept[0], "rows_done": kept[1]} if kept else None,
            },
            "second_run": {
                "resumed": [json.loads(line)["message"] for line in resumed],
                "rows_changed": done["rows_done"],
                "backfill_s": done["duration_s"],
                "rows_per_s": round(done["rows_done"] / done["duration_s"]),
                "migrator_run_s": round(finished - killed_at, 2),
            },
            "rows_changed_in_all": before_kill + done["rows_done"],
            "rows_with_a_wrong_key": wrong_keys(database),
            "longest_lock_wait_ms": round(waits.longest_ms, 1),
            "longest_lock_wait_query": waits.longest_query[:200],
            "writes_before": writes_seen.window(started - args.baseline, started),
            "writes_during": writes_seen.window(started, finished),
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
