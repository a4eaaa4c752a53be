"""What a login costs: logins a second per worker, and an unknown name against a wrong
password, side by side (they must not tell which names exist). The api as host processes
(gunicorn with the real configuration) on a durable throwaway PostgreSQL; clients from
addresses of their own (X-Forwarded-For, which the api believes from 127.0.0.1), so the
per-account throttle never answers in place of a password check.

    make bench args=--logins [--seconds 10] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from api.accounts.passwords import hasher
from api.settings import PasswordHashing
from harness.databases import connect, new_database
from harness.load import percentile
from harness.postgres import throwaway_server
from harness.processes import running_api

PASSWORD = "benchmark passphrase"  # noqa: S105 - a throwaway database's
USERS = 64
# Each client address a request of its own: 198.18.0.0/15, the benchmarking range.
ADDRESSES: Iterator[str] = (str(a) for a in ipaddress.ip_network("198.18.0.0/15").hosts())


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--logins", action="store_true", help="this mode (make bench's switch)")
    parser.add_argument("--smoke", action="store_true", help="a quick run (1 s, 20 samples)")
    parser.add_argument("--seconds", type=float, help="seconds per rate run (default 10)")
    parser.add_argument("--samples", type=int, help="logins timed of each kind (default 200)")
    return parser.parse_args(argv)


def seed(database: URL) -> None:
    """USERS accounts with one password (one hash, shared: hashing 64 takes 10 s)."""
    digest = hasher(PasswordHashing()).hash(PASSWORD)  # at the cost as shipped
    with connect(database) as db:
        db.execute(
            "INSERT INTO users (username, username_key, email, password_hash, token_version) "
            "SELECT 'login' || g, 'login' || g, 'login' || g || '@example.org', %s, 0 "
            "FROM generate_series(1, %s) g",
            (digest, USERS),
        )


async def log_in(http: httpx.AsyncClient, username: str, password: str) -> tuple[int, float]:
    start = time.perf_counter()
    answer = await http.post(
        "/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": next(ADDRESSES)},
    )
    return answer.status_code, (time.perf_counter() - start) * 1000


@dataclass
class Rate:
    logins: int
    seconds: float
    statuses: set[int]
    ms: list[float]

    @property
    def per_s(self) -> float:
        return self.logins / self.seconds


async def login_rate(base_url: str, clients: int, seconds: float) -> Rate:
    """Logins with the right password from ``clients`` at once, for ``seconds``."""
    names = itertools.cycle(f"login{n}" for n in range(1, USERS + 1))
    ms: list[float] = []
    statuses: set[int] = set()
    until = time.monotonic() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            while time.monotonic() < until:
                status, took = await log_in(http, next(names), PASSWORD)
                statuses.add(status)
                ms.append(took)

    start = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Rate(len(ms), time.monotonic() - start, statuses, ms)


async def refusals(base_url: str, samples: int) -> dict[str, tuple[set[int], list[float]]]:
    """A wrong password to a real name and any password to an unknown one, one request
    at a time, in a random order: each kind's statuses and times."""
    kinds = ["wrong password"] * samples + ["unknown name"] * samples
    random.shuffle(kinds)
    found: dict[str, tuple[set[int], list[float]]] = {
        kind: (set(), []) for kind in ("wrong password", "unknown name")
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        for number, kind in enumerate(kinds):
            if kind == "wrong password":
                status, took = await log_in(http, f"login{number % USERS + 1}", "not it at all")
            else:
                status, took = await log_in(http, f"nobody{number}", "not it at all")
            found[kind][0].add(status)
            found[kind][1].append(took)
    return found


def row(label: str, statuses: set[int], ms: list[float], extra: str = "") -> str:
    p = [percentile(ms, f) for f in (0.1, 0.5, 0.9, 0.99)]
    codes = ", ".join(map(str, sorted(statuses)))
    return f"| {label} | {codes} | {len(ms)} | " + " | ".join(f"{v:.1f}" for v in p) + extra


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    seconds = args.seconds or (1.0 if args.smoke else 10.0)
    samples = args.samples or (20 if args.smoke else 200)
    server = throwaway_server(durable=True)
    logs = Path(tempfile.mkdtemp(prefix="bench-logins-"))
    try:
        server.start()
        with new_database(server.url, revision="head", prefix="logins") as database:
            seed(database)
            lines = [
                "| workers | clients at once | logins/s | per worker | p50 ms | p99 ms | answers |",
                "|---:|---:|---:|---:|---:|---:|---|",
            ]
            for workers in (1, 2):
                with running_api(database, logs, WEB_CONCURRENCY=str(workers)) as api:
                    for clients in (2 * workers, 8):
                        rate = asyncio.run(login_rate(api.base_url, clients, seconds))
                        lines.append(
                            f"| {workers} | {clients} | {rate.per_s:.1f} | "
                            f"{rate.per_s / workers:.1f} | {percentile(rate.ms, 0.5):.0f} | "
                            f"{percentile(rate.ms, 0.99):.0f} | {sorted(rate.statuses)} |"
                        )
            with running_api(database, logs, WEB_CONCURRENCY="1") as api:
                found = asyncio.run(refusals(api.base_url, samples))
    finally:
        server.remove()
    print("\nLogins with the right password (Argon2id, ARGON2_HASHES_AT_ONCE as shipped):\n")
    print("\n".join(lines))
    print("\nRefused logins, one at a time, interleaved at random (one worker):\n")
    print("| kind | answers | count | p10 ms | p50 ms | p90 ms | p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind, (statuses, ms) in found.items():
        print(row(kind, statuses, ms, " |"))
    wrong, unknown = (percentile(found[k][1], 0.5) for k in ("wrong password", "unknown name"))
    print(
        f"\nmedian unknown name - median wrong password: {unknown - wrong:+.1f} ms "
        f"({(unknown - wrong) / wrong:+.1%})"
    )


if __name__ == "__main__":
    main()
