"""The API under write load while the migrator changes its database: what the online
benchmarks share (bench.username_keys_rollout).

A durable throwaway PostgreSQL with a seeded database at a given revision, the API served
on it as the stack does, and clients creating users throughout, each request's start,
duration and status kept, summarised for any window: count, rate, p50, p99, max, errors.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from harness.databases import connect, create_database
from harness.postgres import throwaway_server
from harness.processes import alembic, running_api
from harness.roles import set_up_roles


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


def options(doc: str | None) -> argparse.Namespace:
    """The command line both online benchmarks take."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds before")
    return parser.parse_args()


@contextmanager
def seeded_database(revision: str, users: int) -> Iterator[URL]:
    """A database at ``revision`` holding ``users`` users, the stack's roles set up, on a
    durable throwaway PostgreSQL that is removed afterwards."""
    server = throwaway_server(durable=True)
    try:
        server.start()
        database = create_database(server.url, prefix="bench")
        set_up_roles(database)
        alembic(database, "upgrade", revision)
        print(f"seeding {users:,} users ...", flush=True)
        seed(database, users)
        yield database
    finally:
        server.remove()


@contextmanager
def writes_going_on(database: URL, writers: int) -> Iterator[Writes]:
    """The API serving ``database`` as the stack does (gunicorn, two workers) with
    ``writers`` clients creating users throughout; they go on 2 s past the block."""
    logs = Path(tempfile.mkdtemp(prefix="online-migration-"))
    with running_api(database, logs, WEB_CONCURRENCY="2") as api:
        writes = Writes()
        threads = [
            threading.Thread(target=writes.writer, args=(api.base_url, n), daemon=True)
            for n in range(writers)
        ]
        for thread in threads:
            thread.start()
        try:
            yield writes
            time.sleep(2)
        finally:
            writes.stop.set()
            for thread in threads:
                thread.join()
