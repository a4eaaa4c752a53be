"""The API under write load while the migrator changes its database: what the online
benchmarks share (bench.username_keys_rollout). A durable throwaway PostgreSQL with a
seeded database at a given revision, the API served on it as the stack does, and clients
creating users throughout (harness.load), summed up for any window."""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL

from harness.databases import connect, new_database
from harness.load import Load
from harness.postgres import throwaway_server
from harness.processes import running_api


def seed(database_url: URL, users: int) -> None:
    with connect(database_url) as connection:
        connection.execute(
            "INSERT INTO users (username, email, bio) SELECT 'user' || g, "
            "'User' || g || '@Example.com', NULL FROM generate_series(1, %s) g",
            (users,),
        )
        connection.execute("VACUUM ANALYZE users")


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
        with new_database(server.url, revision=revision, prefix="bench") as database:
            print(f"seeding {users:,} users ...", flush=True)
            seed(database, users)
            yield database
    finally:
        server.remove()


@contextmanager
def writes_going_on(database: URL, writers: int) -> Iterator[Load]:
    """The API serving ``database`` as the stack does (gunicorn, two workers) with
    ``writers`` clients creating users throughout, one request at a time each; they go
    on 2 s past the block. Its ``report().window(start, end)`` sums up any stretch."""
    logs = Path(tempfile.mkdtemp(prefix="online-migration-"))
    with (
        running_api(database, logs, WEB_CONCURRENCY="2") as api,
        Load(api.base_url, math.inf, writers=writers, readers=0, pause=0, timeout=60) as load,
    ):
        yield load
        time.sleep(2)
