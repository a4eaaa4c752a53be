"""Side-by-side benchmark: this stack's API against the tutorial app, same database, same data.

    make bench                      # 10,000 users, 100,000 posts, 3 rounds
    uv run python -m bench.run --large      # 1,000,000 posts
    uv run python -m bench.run --smoke      # seconds; CI runs it so it keeps working

Starts a PostgreSQL (durable settings), migrates and seeds it reproducibly, serves our API
exactly as the stack does (gunicorn with gunicorn.conf.py and compose's defaults) and the
tutorial app as the seed serves it (one uvicorn process, sync SQLAlchemy), then drives both
with wrk, interleaved round by round. Prints a table and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import URL

from tests.support.compose import ComposeProject, docker_available
from tests.support.databases import connect, create_database
from tests.support.paths import ROOT
from tests.support.postgres import PostgresServer, free_port, throwaway_server
from tests.support.processes import alembic, service_env, start_gunicorn
from tests.support.roles import as_api_role, set_up_roles

BENCH = Path(__file__).resolve().parent
WRK_SCRIPTS = BENCH / "wrk"
RESULTS = BENCH / "results"
OURS, TUTORIAL = "ours", "tutorial"


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    paths: dict[str, str]  # app -> request path (the same unless the apps differ)
    connections: int = 16
    read_share: int = 0
    # The table a pure-write scenario inserts into: every 2xx must have left a row there.
    writes_to: str | None = None


def scenarios(posts: int) -> list[Scenario]:
    deep = posts - 50
    return [
        Scenario("GET /users/{id}", "get.lua", {OURS: "/users/{id}", TUTORIAL: "/users/{id}"}),
        Scenario(
            "GET /posts?limit=50", "get.lua", {OURS: "/posts?limit=50", TUTORIAL: "/posts?limit=50"}
        ),
        Scenario(
            "GET /posts page near the end",
            "get.lua",
            # Keyset for us; the tutorial style pages with OFFSET.
            {OURS: f"/posts?limit=50&after={deep}", TUTORIAL: f"/posts?skip={deep}&limit=50"},
        ),
        Scenario(
            "POST /users", "create_user.lua", {OURS: "/users", TUTORIAL: "/users"},
            writes_to="users",
        ),
        Scenario(
            "POST /users/{id}/posts", "create_post.lua",
            {OURS: "/users/{id}/posts", TUTORIAL: "/users/{id}/posts"}, writes_to="posts",
        ),
        Scenario(
            "90/10 read/write mix", "create_post.lua",
            {OURS: "/users/{id}", TUTORIAL: "/users/{id}"}, read_share=90,
        ),
    ]  # fmt: skip


# The tutorial's own unpaginated list: every row per request. Run once, after the rounds:
# a request still running when wrk stops would slow whatever the tutorial serves next.
EVERY_ROW = Scenario(
    "GET /posts (tutorial: every row; 1 run)", "get.lua", {OURS: "/posts", TUTORIAL: "/posts"},
    connections=2,
)  # fmt: skip


@dataclass
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int

    @property
    def succeeded(self) -> int:
        return self.requests - self.errors


@dataclass
class App:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    peak_rss_mb: float = 0.0
    results: dict[str, list[Result]] = field(default_factory=dict)


def rss_of_tree(pid: int) -> int:
    """Resident set of a process and all its descendants, in kB."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
    return total


@contextlib.contextmanager
def sampling_rss(apps: list[App]) -> Iterator[None]:
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            for app in apps:
                app.peak_rss_mb = max(app.peak_rss_mb, rss_of_tree(app.process.pid) / 1024)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()


def pinned(command: list[str]) -> list[str]:
    """Load generators on the last core, where there is more than one and taskset exists."""
    cores = os.cpu_count() or 1
    if cores > 1 and shutil.which("taskset"):
        return ["taskset", "-c", str(cores - 1), *command]
    return command


def seed(database: URL, users: int, posts: int) -> None:
    """Deterministic data: the same rows on every run of the same size."""
    with connect(database) as db:
        db.execute(
            "INSERT INTO users (username, email, bio) SELECT 'user' || g, 'user' || g ||"
            " '@example.com', CASE WHEN g %% 3 = 0 THEN 'Bio of user ' || g END"
            " FROM generate_series(1, %s) g",
            (users,),
        )
        db.execute(
            "INSERT INTO posts (title, content, user_id, date_posted)"
            " SELECT 'Post ' || g, repeat('Some words of content. ', 8), 1 + (g %% %s),"
            " timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, %s) g",
            (users, posts),
        )
        db.execute("VACUUM ANALYZE")


def wait_until_up(app: App, path: str) -> None:
    give_up_at = time.monotonic() + 60
    while time.monotonic() < give_up_at:
        if app.process.poll() is not None:
            raise SystemExit(f"{app.name} exited with {app.process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(app.base_url + path, timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{app.name} did not come up")


def start_ours(database: URL, log: Path) -> App:
    port = free_port()
    # The stack's settings (compose.yaml defaults), bar the address.
    env = service_env(as_api_role(database), GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2")
    process = start_gunicorn(env, log)
    app = App(OURS, f"http://127.0.0.1:{port}", process)
    wait_until_up(app, "/readyz")
    return app


def start_tutorial(database: URL, log: Path) -> App:
    port = free_port()
    env = service_env(database.set(drivername="postgresql+psycopg"))
    # As the tutorial runs it (uvicorn's defaults, access log included), minus --reload.
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=BENCH / "baseline", env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    app = App(TUTORIAL, f"http://127.0.0.1:{port}", process)
    wait_until_up(app, "/")
    return app


def run_wrk(app: App, scenario: Scenario, seconds: float, users: int, tag: str) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write((WRK_SCRIPTS / scenario.script).read_text())
        script.write((WRK_SCRIPTS / "report.lua").read_text())
    env = {
        **os.environ,
        "BENCH_PATH": scenario.paths[app.name],
        "BENCH_USERS": str(users),
        "BENCH_TAG": tag,
        "BENCH_READ_SHARE": str(scenario.read_share),
    }
    command = pinned([
        "wrk", "-t1", f"-c{scenario.connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "60s", "-s", script.name, app.base_url,
    ])  # fmt: skip
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        requests_per_s=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_ms"],
        p99_ms=data["p99_ms"],
        errors=data["non_2xx"] + data["socket_errors"],
        requests=data["requests"],
    )


def count(database: URL, table: str) -> int:
    with connect(database) as db:
        row = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    return int(str(row[0])) if row else 0


def pgbench(server: PostgresServer, database: URL, users: int, seconds: float) -> dict[str, float]:
    """The physical ceiling: the same single-row SELECT and INSERT, no HTTP, no Python."""
    scripts = {
        "select": f"\\set id random(1, {users})\n"
        "SELECT id, username, email, bio FROM users WHERE id = :id;\n",
        "insert": f"\\set uid random(1, {users})\n"
        "INSERT INTO posts (title, content, user_id) VALUES ('pgbench', 'row', :uid);\n",
    }
    tps = {}
    binary = shutil.which("pgbench") or str(Path(server_bindir(server)) / "pgbench")
    for name, body in scripts.items():
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            script.write(body)
        output = subprocess.run(
            pinned([binary, "-n", "-M", "prepared", "-c", "16", "-j", "1",
                    "-T", str(max(1, round(seconds))), "-f", script.name,
                    "-h", database.host or "", "-p", str(database.port), "-U",
                    database.username or "", database.database or ""]),
            env={**os.environ, "PGPASSWORD": database.password or ""},
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        Path(script.name).unlink()
        line = next(line for line in output.splitlines() if line.startswith("tps = "))
        tps[name] = float(line.split()[2])
    return tps


def server_bindir(server: PostgresServer) -> str:
    return str(getattr(server, "bindir", "/usr/bin"))


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.monotonic() - started


def compose_timings() -> dict[str, float] | str:
    """`up` from warm images to a healthy api, and a migrator run at head."""
    if not docker_available():
        return "skipped: no Docker"
    stack = ComposeProject(prefix="bench")
    try:
        timed([*stack.command, "build"], stack.env)
        first_up = timed([*stack.command, "up", "--wait"], stack.env)  # new volumes: initdb
        timed([*stack.command, "down"], stack.env)
        warm_up = timed([*stack.command, "up", "--wait"], stack.env)
        migrator_at_head = timed([*stack.command, "run", "--rm", "migrator"], stack.env)
    finally:
        stack.remove()
    return {
        "up_new_volume_s": first_up,
        "up_warm_s": warm_up,
        "migrator_run_at_head_s": migrator_at_head,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--large", action="store_true", help="1,000,000 posts")
    size.add_argument("--smoke", action="store_true", help="a seconds-long run (CI)")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; smoke 1)")
    parser.add_argument("--seconds", type=float, help="seconds per run (default 10; smoke 1)")
    parser.add_argument("--no-compose", action="store_true", help="skip the compose timings")
    args = parser.parse_args()

    users = 1_000 if args.smoke else 10_000
    posts = 5_000 if args.smoke else 1_000_000 if args.large else 100_000
    rounds = args.rounds or (1 if args.smoke else 3)
    seconds = args.seconds or (1.0 if args.smoke else 10.0)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    server = throwaway_server(durable=True)
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    try:
        server.start()
        database = create_database(server.url, prefix="bench")
        set_up_roles(database)
        alembic(database, "upgrade", "head")
        print(f"seeding {users:,} users and {posts:,} posts ...", flush=True)
        seed(database, users, posts)
        apps = [
            start_ours(database, logs / "ours.log"),
            start_tutorial(database, logs / "tutorial.log"),
        ]
        lost_writes: dict[str, int] = {OURS: 0, TUTORIAL: 0}
        with sampling_rss(apps):
            for round_number in range(rounds):
                for scenario in scenarios(posts):
                    # Alternate who goes first, so neither always gets the warmer machine.
                    for app in apps if round_number % 2 == 0 else apps[::-1]:
                        tag = f"{app.name}{round_number}{secrets.token_hex(2)}"
                        table = scenario.writes_to
                        before = count(database, table) if table else 0
                        result = run_wrk(app, scenario, seconds, users, tag)
                        if table:
                            written = count(database, table) - before
                            lost_writes[app.name] += max(
                                0, result.requests - result.errors - written
                            )
                        app.results.setdefault(scenario.name, []).append(result)
                        print(
                            f"  round {round_number + 1} {app.name:8s} {scenario.name:34s} "
                            f"{result.requests_per_s:8.0f} req/s  errors {result.errors}",
                            flush=True,
                        )
            for app in apps:
                result = run_wrk(app, EVERY_ROW, seconds, users, "every-row")
                app.results[EVERY_ROW.name] = [result]
                print(f"  {app.name:8s} {EVERY_ROW.name}: {result.requests} requests", flush=True)
        ceiling = pgbench(server, database, users, seconds)
        for app in apps:
            app.process.terminate()
            app.process.wait(timeout=30)
        timings = "skipped" if args.smoke or args.no_compose else compose_timings()
        report(apps, ceiling, timings, lost_writes, users, posts, rounds, seconds)
    finally:
        server.remove()


def rate(result: Result) -> str:
    if not result.requests:
        return "none done"
    per_s = result.requests_per_s
    return f"{per_s:,.0f}" if per_s >= 10 else f"{per_s:.2f}"


def latency(result: Result) -> str:
    return f"{result.p50_ms:,.1f} / {result.p99_ms:,.1f}" if result.requests else "-"


def describe_machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{os.cpu_count()} cores ({model}), {python}"


def describe_timings(timings: dict[str, float] | str) -> str:
    if isinstance(timings, str):
        return timings
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in timings.items())


def median_result(results: list[Result]) -> Result:
    return Result(
        requests_per_s=statistics.median(r.requests_per_s for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
    )


def report(
    apps: list[App],
    ceiling: dict[str, float],
    timings: dict[str, float] | str,
    lost_writes: dict[str, int],
    users: int,
    posts: int,
    rounds: int,
    seconds: float,
) -> None:
    ours, tutorial = apps
    machine = describe_machine()
    rows: list[dict[str, Any]] = []
    lines = [
        f"{users:,} users, {posts:,} posts; median of {rounds} round(s) of {seconds:g}s; {machine}",
        "",
        "| scenario | ours req/s | tutorial req/s | ours/tutorial | ours p50 / p99 ms"
        " | tutorial p50 / p99 ms | errors ours / tutorial |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for name in ours.results:
        a, b = median_result(ours.results[name]), median_result(tutorial.results[name])
        ratio = a.requests_per_s / b.requests_per_s if b.requests else None
        rows.append({"scenario": name, "ours": a.__dict__, "tutorial": b.__dict__, "ratio": ratio})
        lines.append(
            f"| {name} | {rate(a)} | {rate(b)} | {f'{ratio:,.1f}x' if ratio else 'n/a'}"
            f" | {latency(a)} | {latency(b)} | {a.errors} / {b.errors} |"
        )
    single = median_result(ours.results["GET /users/{id}"]).requests_per_s
    created = median_result(ours.results["POST /users/{id}/posts"]).requests_per_s
    lines += [
        "",
        f"pgbench ceiling (16 connections, prepared): SELECT by id {ceiling['select']:,.0f} tps "
        f"(ours {single / ceiling['select']:.0%} of it); INSERT post {ceiling['insert']:,.0f} tps "
        f"(ours {created / ceiling['insert']:.0%} of it)",
        f"peak RSS: ours {ours.peak_rss_mb:.0f} MB (master + 2 workers),"
        f" tutorial {tutorial.peak_rss_mb:.0f} MB",
        f"lost writes (a 2xx without its row): ours {lost_writes[OURS]},"
        f" tutorial {lost_writes[TUTORIAL]}",
        f"compose: {describe_timings(timings)}",
    ]
    table = "\n".join(lines)
    print("\n" + table)
    RESULTS.mkdir(exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "users": users,
        "posts": posts,
        "rounds": rounds,
        "seconds": seconds,
        "scenarios": rows,
        "pgbench_tps": ceiling,
        "peak_rss_mb": {OURS: ours.peak_rss_mb, TUTORIAL: tutorial.peak_rss_mb},
        "lost_writes": lost_writes,
        "compose": timings,
        "table_markdown": table,
    }
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=2))
    print(f"\nwrote {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
