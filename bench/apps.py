"""The two apps on one database, and the parts whose CPU the bench measures, started
either way: compose (the default: compose.yaml as users run it, under a project name of
its own, reached through the proxy's published port, with bench/compose.tutorial.yaml's
tutorial on a port of its own, on the same `db` and data) or host (a diagnostic: both
apps as host processes on a throwaway durable PostgreSQL, ours under gunicorn with the
real configuration, the tutorial under uvicorn)."""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.data import ComposeDatabase, Database, HostDatabase, host_pgbench
from bench.load import OURS, TUTORIAL, Result
from bench.measure import (
    CpuClock,
    CpuMeter,
    container_cpu,
    process_tree_cpu,
    processes_cpu,
    runtime_processes,
)
from harness.compose import ComposeProject, docker_available
from harness.databases import new_database
from harness.postgres import (
    ContainerPostgres,
    LocalPostgres,
    PostgresServer,
    free_port,
    throwaway_server,
)
from harness.processes import alembic, running_api, service_env, stop, wait_for_http

BENCH = Path(__file__).resolve().parent
TUTORIAL_COMPOSE_FILE = "bench/compose.tutorial.yaml"
# The measured parts, in the order the report shows them.
API, PROXY, DB, RUNTIME, TUTORIAL_PART = "api", "proxy", "db", "runtime", "tutorial"
# Where wrk reaches the apps unless told otherwise; through compose, via docker-proxy.
LOOPBACK = "127.0.0.1"
ADDRESS_HELP = (
    f"where wrk reaches the published ports. {LOOPBACK}, the default, goes through"
    " docker-proxy; the host's own address goes through the kernel's NAT, the path of a"
    " client on another machine"
)

# Our gunicorn workers' own CPU, within the api part: what "worker CPU per request" means.
WORKERS = f"{API}/workers"


def workers_cpu(master_pid: int) -> CpuClock:
    """The CPU of gunicorn's workers alone (the master's children, as they are when the
    bench starts): not the master, the health checks, or socket work the kernel charges
    to the container outside them."""
    return processes_cpu(psutil.Process(master_pid).children())


@dataclass
class App:
    name: str
    base_url: str
    pid: int  # the root of the process tree serving it (gunicorn's master, uvicorn)
    results: dict[str, list[Result]] = field(default_factory=dict)


@dataclass
class Bench:
    mode: str
    apps: list[App]  # ours, then the tutorial
    database: Database
    cpu: CpuMeter
    setup_s: dict[str, float]  # how long the setup's steps took
    platform: str  # what serves them, beyond the machine: engine, Compose, cgroups


def described(mode: str, settings: dict[str, str], address: str = LOOPBACK) -> str:
    through = [] if address == LOOPBACK else [f"through {address}"]
    return " ".join([mode, *through, *(f"{name}={value}" for name, value in settings.items())])


# -- compose -------------------------------------------------------------------------


def timed(stack: ComposeProject, *args: str) -> float:
    started = time.monotonic()
    stack(*args)
    return time.monotonic() - started


def docker_platform() -> str:
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}} {{.CgroupVersion}} {{.CgroupDriver}}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    compose = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True, check=True
    ).stdout.strip()
    version, cgroup, driver = [*info, "?", "?", "?"][:3]
    return f"Docker {version}, Compose {compose}, cgroup v{cgroup} ({driver})"


@contextlib.contextmanager
def compose_bench(
    settings: dict[str, str], address: str = LOOPBACK, time_migrator: bool = True
) -> Iterator[Bench]:
    if not docker_available():
        raise SystemExit(
            'compose mode needs Docker (sandbox: eval "$(../shared/docker-sandbox/setup --env)");'
            " `make bench args=--host` runs the apps as host processes instead"
        )
    stack = ComposeProject(prefix="bench", files=("compose.yaml", TUTORIAL_COMPOSE_FILE))
    tutorial_port = free_port()
    stack.env["BENCH_TUTORIAL_PORT"] = str(tutorial_port)
    stack.env.update(settings)  # compose.yaml passes the api's settings through
    try:
        setup_s = {
            "build_s": timed(stack, "build"),
            "up_new_volume_s": timed(stack, "up", "--wait"),  # initdb, roles, migrations
        }
        if time_migrator:  # a container start and `alembic upgrade head` with nothing to do
            setup_s["migrator_run_at_head_s"] = timed(stack, "run", "--rm", "migrator")
        containers = {
            service: stack.inspect(container_id)
            for service in ("api", "proxy", "db", "tutorial")
            for container_id in stack.container_ids(service)
        }
        pids = {
            service: int(container["State"]["Pid"]) for service, container in containers.items()
        }
        apps = [
            # HTTPS, the door's one port that serves the api (plain HTTP answers a 308,
            # which wrk would count as a success).
            App(OURS, f"https://{address}:{stack.tls_port}", pids["api"]),
            App(TUTORIAL, f"http://{address}:{tutorial_port}", pids["tutorial"]),
        ]
        for app, path, service in ((apps[0], "/readyz", "api"), (apps[1], "/", "tutorial")):
            wait_for_http(app.base_url + path, 60, describe=functools.partial(stack.logs, service))
        runtime = runtime_processes(
            (container["Id"] for container in containers.values()),
            (stack.port, stack.tls_port, tutorial_port),
        )
        clocks: dict[str, CpuClock] = {
            API: container_cpu(pids["api"]),
            WORKERS: workers_cpu(pids["api"]),
            PROXY: container_cpu(pids["proxy"]),
            DB: container_cpu(pids["db"]),
            RUNTIME: processes_cpu(process for group in runtime.values() for process in group),
            TUTORIAL_PART: container_cpu(pids["tutorial"]),
            # The runtime's share, kind by kind (in the JSON and the report's summary).
            **{f"{RUNTIME}/{kind}": processes_cpu(group) for kind, group in runtime.items()},
        }
        counted = ", ".join(f"{kind} x{len(group)}" for kind, group in sorted(runtime.items()))
        yield Bench(
            mode=described("compose", settings, address),
            apps=apps,
            database=ComposeDatabase(stack),
            cpu=CpuMeter(clocks),
            setup_s=setup_s,
            platform=f"{docker_platform()}; runtime processes measured: {counted}",
        )
    finally:
        try:
            print(failed_answers(stack.service_log("api")))
        finally:
            stack.remove()


def failed_answers(log: str) -> str:
    """What our api answered with a status of 400 or more, by route and status (its
    access lines), and what it logged as a warning or an error (why it answered 503)."""
    answers: collections.Counter[str] = collections.Counter()
    warnings: collections.Counter[str] = collections.Counter()
    times: list[str] = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError, TypeError):
            record = json.loads(line)
            if not isinstance(record, dict):
                continue
            if int(record.get("status", 0)) >= 400:
                answers[f"{record.get('method')} {record.get('route')} {record['status']}"] += 1
            if record.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                warning = f"{record['level']} {str(record.get('message'))[:160]}"
                warnings[warning] += 1
                if warnings[warning] <= 3:  # when: to place it among the bench's steps
                    times.append(f"{record.get('time')} {warning[:60]}")
    return (
        f"our api's answers of 400 or more (access log): {dict(answers) or 'none'}\n"
        f"our api's warnings and errors: {dict(warnings) or 'none'}"
        + "".join(f"\n  {line}" for line in times)
    )


# -- host ----------------------------------------------------------------------------


def server_cpu(server: PostgresServer) -> CpuClock:
    """The throwaway server's postmaster and backends, or its container."""
    if isinstance(server, LocalPostgres):
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        return process_tree_cpu(postmaster)
    if isinstance(server, ContainerPostgres):
        pid = subprocess.run(
            ["docker", "inspect", "--format", "{{.State.Pid}}", server.name],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return container_cpu(int(pid))
    raise TypeError(f"unknown server kind {type(server).__name__}")


@contextlib.contextmanager
def running_tutorial(database_url_env: dict[str, str], log: Path) -> Iterator[App]:
    port = free_port()
    # As the tutorial runs it (uvicorn's defaults, access log included), minus --reload.
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=BENCH / "baseline", env=database_url_env, stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        app = App(TUTORIAL, f"http://{LOOPBACK}:{port}", process.pid)
        wait_for_http(
            app.base_url + "/", 60, alive=lambda: process.poll() is None, describe=log.read_text
        )
        yield app
    finally:
        stop(process)


@contextlib.contextmanager
def host_bench(logs: Path, settings: dict[str, str]) -> Iterator[Bench]:
    server = throwaway_server(durable=True)
    try:
        server.start()
        with new_database(server.url, prefix="bench") as database:
            started = time.monotonic()
            alembic(database, "upgrade", "head")
            migrations_s = time.monotonic() - started
            tutorial_env = service_env(database.set(drivername="postgresql+psycopg"))
            # The stack's settings (compose.yaml passes none, so the settings' defaults, access
            # log on), bar the address; two workers, as on a 2-core host.
            with (
                running_api(database, logs, **{"ACCESS_LOG": "true", **settings}) as ours,
                running_tutorial(tutorial_env, logs / "tutorial.log") as tutorial,
            ):
                wait_for_http(ours.base_url + "/readyz", 60)
                yield Bench(
                    mode=described("host", settings),
                    apps=[App(OURS, ours.base_url, ours.process.pid), tutorial],
                    database=HostDatabase(database, host_pgbench(getattr(server, "bindir", None))),
                    cpu=CpuMeter(
                        {
                            API: process_tree_cpu(ours.process.pid),
                            WORKERS: workers_cpu(ours.process.pid),
                            DB: server_cpu(server),
                            TUTORIAL_PART: process_tree_cpu(tutorial.pid),
                        }
                    ),
                    setup_s={"migrations_s": migrations_s},
                    platform=f"host processes; PostgreSQL {type(server).__name__}",
                )
    finally:
        server.remove()


def settings_given(pairs: Sequence[str]) -> dict[str, str]:
    """--set's NAME=VALUE pairs, for our api."""
    settings = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    if len(settings) != len(pairs):
        raise SystemExit(f"--set takes NAME=VALUE, got {list(pairs)}")
    return settings


def served_at(address: str) -> dict[str, str]:
    """The setting an api needs to be reached at ``address``: clients write it in Host,
    and the api answers only the hosts it serves."""
    if address == LOOPBACK:
        return {}
    return {"PUBLIC_HOSTS": f"localhost,127.0.0.1,::1,{address}"}
