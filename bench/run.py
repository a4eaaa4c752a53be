"""Side-by-side benchmark: this stack's API against the tutorial app, same database, same data.

`make bench` (its options: bench/README.md) starts both apps (bench.apps), seeds the same
rows (bench.data), drives both with wrk (bench.load) scenario by scenario, interleaved
round by round, reading each part's CPU around every run (bench.measure); then pgbench's
ceiling, and the report (bench.report): a table on stdout and bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import door, logins
from bench.apps import (
    ADDRESS_HELP,
    LOOPBACK,
    App,
    Bench,
    compose_bench,
    host_bench,
    served_at,
    settings_given,
)
from bench.data import pgbench_ceiling, seed
from bench.load import EVERY_ROW, OURS, TUTORIAL, Result, Scenario, require_wrk, run_wrk, scenarios
from bench.measure import sampling_peak_rss
from bench.report import Outcome, write_report


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--large", action="store_true", help="1,000,000 posts")
    size.add_argument("--smoke", action="store_true", help="a quick run of everything (CI)")
    parser.add_argument(
        "--door",
        action="store_true",
        help="what the front door costs a read (bench.door; its own options: --door --help)",
    )
    parser.add_argument(
        "--logins",
        action="store_true",
        help="logins a second per worker, unknown name against wrong password (bench.logins;"
        " its own options: --logins --help)",
    )
    parser.add_argument("--rounds", type=int, help="rounds (default 3; smoke 1)")
    parser.add_argument("--seconds", type=float, help="seconds per run (default 10; smoke 1)")
    parser.add_argument(
        "--host", action="store_true", help="run both apps as host processes, not containers"
    )
    parser.add_argument(
        "--address",
        default=LOOPBACK,
        help=ADDRESS_HELP,
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for our api (repeatable), e.g. --set ACCESS_LOG=false: a lever's cost",
    )
    return parser.parse_args()


def measured_run(
    bench: Bench, app: App, scenario: Scenario, seconds: float, users: int, tag: str
) -> Result:
    """One wrk run, with every part's CPU read just before and just after it."""
    before, started_at = bench.cpu.read(), time.monotonic()
    result = run_wrk(app.base_url, scenario.paths[app.name], scenario, seconds, users, tag)
    result.cpu_s = bench.cpu.spent(before, bench.cpu.read())
    result.wall_s = time.monotonic() - started_at
    app.results.setdefault(scenario.name, []).append(result)
    return result


def run_rounds(bench: Bench, posts: int, users: int, rounds: int, seconds: float) -> dict[str, int]:
    """Every scenario, both apps, ``rounds`` times; returns lost writes per app."""
    lost_writes = {OURS: 0, TUTORIAL: 0}
    for round_number in range(rounds):
        for scenario in scenarios(posts):
            # Alternate who goes first, so neither always gets the warmer machine.
            for app in bench.apps if round_number % 2 == 0 else bench.apps[::-1]:
                tag = f"{app.name}{round_number}{secrets.token_hex(2)}"
                table = scenario.writes_to
                before = bench.database.count(table) if table else 0
                result = measured_run(bench, app, scenario, seconds, users, tag)
                if table:
                    written = bench.database.count(table) - before
                    lost_writes[app.name] += max(0, result.succeeded - written)
                print(
                    f"  {time.strftime('%H:%M:%S')} round {round_number + 1} {app.name:8s}"
                    f" {scenario.name:42s} "
                    f"{result.requests_per_s:8.0f} req/s  errors {result.errors}"
                    f" (socket {result.socket_errors})",
                    flush=True,
                )
    for app in bench.apps:
        result = measured_run(bench, app, EVERY_ROW, seconds, users, "every-row")
        print(
            f"  {time.strftime('%H:%M:%S')} {app.name:8s} {EVERY_ROW.name}:"
            f" {result.requests} requests",
            flush=True,
        )
    return lost_writes


def idle_cpu(bench: Bench, seconds: float) -> dict[str, float]:
    """Each part's CPU per second with nothing driven: health checks, the engine's other
    containers; what every run's figures carry beside the requests. At least a few
    seconds, to see a few of the 1-2 s health checks."""
    seconds = max(seconds, 4.0)
    before = bench.cpu.read()
    time.sleep(seconds)
    spent = bench.cpu.spent(before, bench.cpu.read())
    return {part: value / seconds for part, value in spent.items()}


@contextlib.contextmanager
def started(host: bool, smoke: bool, settings: dict[str, str], address: str) -> Iterator[Bench]:
    if not host:
        with compose_bench(settings, address, time_migrator=not smoke) as bench:
            yield bench
        return
    with (
        tempfile.TemporaryDirectory(prefix="bench-logs-") as logs,
        host_bench(Path(logs), settings) as bench,
    ):
        yield bench


def main() -> None:
    if "--door" in sys.argv[1:]:  # its own options and report (bench.door)
        door.main(sys.argv[1:])
        return
    if "--logins" in sys.argv[1:]:  # its own options and report (bench.logins)
        logins.main(sys.argv[1:])
        return
    args = parse_arguments()
    users = 1_000 if args.smoke else 10_000
    posts = 5_000 if args.smoke else 1_000_000 if args.large else 100_000
    rounds = args.rounds or (1 if args.smoke else 3)
    seconds = args.seconds or (1.0 if args.smoke else 10.0)
    require_wrk()
    if args.host and args.address != LOOPBACK:
        raise SystemExit(f"--address is for compose mode: host processes listen on {LOOPBACK}")

    print(f"starting both apps ({'host processes' if args.host else 'docker compose'}) ...")
    settings = {**served_at(args.address), **settings_given(args.set)}
    if settings:
        print(f"our api with {settings}")
    with started(args.host, args.smoke, settings, args.address) as bench:
        print(
            f"{time.strftime('%H:%M:%S')} seeding {users:,} users and {posts:,} posts", flush=True
        )
        seed(bench.database, users, posts)
        idle = idle_cpu(bench, seconds)
        with sampling_peak_rss({app.name: app.pid for app in bench.apps}) as peak_rss_mb:
            lost_writes = run_rounds(bench, posts, users, rounds, seconds)
        print(f"{time.strftime('%H:%M:%S')} pgbench ...", flush=True)
        ceiling = pgbench_ceiling(bench.database, users, seconds)
        write_report(
            Outcome(
                bench, users, posts, rounds, seconds, ceiling, dict(peak_rss_mb), lost_writes, idle
            )
        )


if __name__ == "__main__":
    main()
