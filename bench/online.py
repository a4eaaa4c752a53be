"""What an online schema change costs the API while it runs: the case-insensitive
identity revision on 1,000,000 users, with API writes going on throughout.

    uv run python -m bench.online_migration             # 1,000,000 users
    uv run python -m bench.online_migration --users 50000

Starts a durable PostgreSQL, migrates to the revision before, seeds the users, serves
the API as the stack does, then keeps writing users (POST /users, several threads) for
a baseline period, runs the migrator (`upgrade head`, the real CLI) and keeps writing
until it is done. Prints how long the revision took (the migrator's own log line) and
what the writes saw before and during it: count, p50, p99, max, errors.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from harness.databases import connect, create_database
from harness.postgres import throwaway_server
from harness.processes import alembic, running_api
from harness.revisions import revision_before, revision_named
from harness.roles import set_up_roles

REVISION = revision_named("case-insensitive usernames and emails")


@dataclass
class Writes:
    stop: threading.Event = field(default_factory=threading.Event)
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # start, seconds, status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def writer(self, base_url: str, number: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            count = 0
            while not self.stop.is_set():
                count += 1
                name = f"load{number}x{count}"
                started = time.monotonic()
                try:
                    status = client.post(
                        "/users", json={"username": name, "email": f"{name}@example.com"}
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with self.lock:
                    self.samples.append((started, time.monotonic() - started, status))

    def between(self, start: float, end: float) -> dict[str, float]:
        window = [(s, d, code) for s, d, code in self.samples if start <= s < end]
        latencies = sorted(d * 1000 for _, d, _ in window)
        if not latencies:
            return {"requests": 0}
        return {
            "requests": len(window),
            "per_s": round(len(window) / (end - start), 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
            "max_ms": round(latencies[-1], 1),
            "errors": sum(1 for _, _, code in window if code != 201),
        }


def seed(database_url: URL, users: int) -> None:
    with connect(database_url) as db:
        db.execute(
            "INSERT INTO users (username, email, bio) SELECT 'user' || g, "
            "'User' || g || '@Example.com', NULL FROM generate_series(1, %s) g",
            (users,),
        )
        db.execute("VACUUM ANALYZE users")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds before")
    args = parser.parse_args()

    server = throwaway_server(durable=True)
    logs = Path(tempfile.mkdtemp(prefix="online-migration-"))
    try:
        server.start()
        database = create_database(server.url, prefix="bench")
        set_up_roles(database)
        alembic(database, "upgrade", str(revision_before(REVISION)))
        print(f"seeding {args.users:,} users ...", flush=True)
        seed(database, args.users)
        with running_api(database, logs, WEB_CONCURRENCY="2") as api:
            writes = Writes()
            threads = [
                threading.Thread(target=writes.writer, args=(api.base_url, n), daemon=True)
                for n in range(args.writers)
            ]
            for thread in threads:
                thread.start()
            time.sleep(args.baseline)
            started = time.monotonic()
            result = alembic(database, "upgrade", "head")
            finished = time.monotonic()
            time.sleep(2)
            writes.stop.set()
            for thread in threads:
                thread.join()
        applied = [json.loads(line) for line in result.stderr.splitlines() if '"direction"' in line]
        revision_ms = next(line["duration_ms"] for line in applied if line["revision"] == REVISION)
        report = {
            "users": args.users,
            "writers": args.writers,
            "revision_ms": revision_ms,
            "migrator_run_s": round(finished - started, 2),
            "writes_before": writes.between(started - args.baseline, started),
            "writes_during": writes.between(started, finished),
        }
        print(json.dumps(report, indent=2))
    finally:
        server.remove()


if __name__ == "__main__":
    main()
