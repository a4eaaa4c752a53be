"""Faults under load, end to end: compose.yaml alone, reached through its published port.

Each case runs a bounded load (harness.load), breaks one thing while it runs, then checks
what must always hold (tests.faults.checks.check_invariants) and what the case promises
(recovery within a bound, errors only of a kind, ...), and records its figures in
tests/artifacts/faults/<case>.json. The cases share one stack: each leaves it serving as
it found it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from harness.compose import ComposeProject
from harness.load import Load, LoadReport, TrickledCreates
from harness.paths import ROOT
from tests.faults.checks import (
    ContainerEvents,
    addresses,
    check_invariants,
    first_taken_down,
    lost_writes,
    proxy_lines,
    proxy_notices,
    proxy_servers,
    psql,
)

pytestmark = pytest.mark.faults

# Failures of a connection, not answers: what a client sees while nothing listens.
CONNECTION_ERRORS = {"ConnectError", "ReadError", "WriteError", "RemoteProtocolError"}

# Run inside the api container: gunicorn's workers are the children of PID 1, its master.
WORKERS = """
import json, os, signal, sys
from pathlib import Path
workers = []
for proc in Path("/proc").iterdir():
    try:
        parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
        command = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        continue
    if proc.name.isdigit() and parent == "1" and b"gunicorn" in command:
        workers.append(int(proc.name))
workers.sort()
if sys.argv[1:] == ["kill"]:
    os.kill(workers[0], signal.SIGKILL)
for worker in workers if sys.argv[1:] in (["stop"], ["cont"]) else []:
    os.kill(worker, signal.SIGSTOP if sys.argv[1] == "stop" else signal.SIGCONT)
print(json.dumps(workers))
"""


def workers(stack: ComposeProject, *args: str) -> list[int]:
    found: list[int] = json.loads(stack("exec", "-T", "api", "python", "-c", WORKERS, *args).stdout)
    return found


def only_connection_errors(report: LoadReport, killed_at: float | None = None) -> None:
    """Clients were turned away: by the proxy, with a 503 and Retry-After when no api
    could take the request (check_invariants checks the header), or where a process was
    killed, cut off; never answered with another error status. Where a process was killed
    (``killed_at``), a write in flight on it gets the proxy's 502: it may have run, so
    the proxy does not try it again, and says so."""
    errors = report.errors_by_kind()
    assert all(
        kind in CONNECTION_ERRORS or kind == "503" or kind.endswith(" cut") or kind == "502"
        for kind in errors
    ), errors
    bad_gateway = [s for s in report.samples if s.outcome == "502"]
    assert killed_at is not None or not bad_gateway, errors
    assert all(s.kind == "create" and s.started <= (killed_at or 0) for s in bad_gateway)


def recovered(report: LoadReport, mark: str, bound: float) -> float:
    after = report.first_write_after(mark)
    assert after is not None, f"no write succeeded after {mark}: {report.errors_by_kind()}"
    assert after < bound, f"the first write after {mark} took {after:.1f}s (bound {bound}s)"
    return round(after, 3)


def test_database_restart(stack: ComposeProject) -> None:
    """The database restarts: 503s (with Retry-After) while it is down, then the api
    reconnects by itself. Bound: PostgreSQL is back a second or two after `restart`
    returns, and one connect attempt in flight may take POSTGRES_CONNECT_TIMEOUT (5 s).
    (Each bound is well inside what the load has left after its fault.)"""
    with Load(stack.base_url, seconds=16) as load:
        load.sleep_until(4)
        load.mark("fault")
        stack("restart", "db")
        load.mark("restarted")
    report = load.report()
    recovery = recovered(report, "restarted", bound=8)
    check_invariants(
        stack, "1-database-restart", report,
        promise="503s while the database is down, recovery by itself",
        restart_command_s=round(report.marks["restarted"] - report.marks["fault"], 3),
        first_write_after_restart_s=recovery,
        unavailable_window_s=round(report.error_span(0, report.seconds), 3),
    )  # fmt: skip
    assert set(report.errors_by_kind()) <= {"503"}, report.errors_by_kind()
    assert all(s.ok for s in report.started_between(report.seconds - 3, report.seconds))


def test_api_crash(stack: ComposeProject) -> None:
    """gunicorn (PID 1 of the api container) is SIGKILLed, as the kernel's OOM killer
    would: the restart policy brings the container back. Bound: Docker restarts it after
    100 ms, then gunicorn imports the app and forks its workers, which a busy 2-core
    machine slows several times over (the times seen: tests/faults/README.md).

    Not `docker compose kill -s SIGKILL api`: Docker records a kill through its API as an
    operator's stop, and no restart policy applies after one. So the signal comes from the
    host's PID namespace, as a real crash's would."""
    container = stack.container_ids("api")[0]
    state = stack.inspect(container)
    restarts = state["RestartCount"]
    kill = f"import os, signal; os.kill({state['State']['Pid']}, signal.SIGKILL)"
    with Load(stack.base_url, seconds=26) as load:
        load.sleep_until(4)
        load.mark("fault")
        subprocess.run(
            ["docker", "run", "--rm", "--pid=host", "--network=none", "--user=0",
             "--entrypoint=python", state["Image"], "-c", kill],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        load.mark("killed")
    report = load.report()
    recovery = recovered(report, "killed", bound=20)
    after = stack.inspect(container)
    check_invariants(
        stack, "2-api-crash", report, killed=True,
        promise="the restart policy brings the api back; refused connections counted",
        container_restarts=after["RestartCount"] - restarts,
        first_write_after_crash_s=recovery,
        refusal_window_s=round(report.error_span(0, report.seconds), 3),
    )  # fmt: skip
    assert after["RestartCount"] == restarts + 1
    assert after["State"]["Running"]
    only_connection_errors(report, killed_at=report.marks["killed"])


def test_one_worker_killed(stack: ComposeProject) -> None:
    """One gunicorn worker is SIGKILLed: the master forks a replacement, the other worker
    serves meanwhile. Only requests in flight on that worker may fail: each load task has
    one request in flight at most, so no more errors than tasks, and none that started
    after the kill."""
    container = stack.container_ids("api")[0]
    started_at = stack.inspect(container)["State"]["StartedAt"]
    before = workers(stack)
    tasks = 6
    with Load(stack.base_url, seconds=12, writers=tasks // 2, readers=tasks // 2) as load:
        load.sleep_until(4)
        load.mark("fault")
        workers(stack, "kill")
        load.mark("killed")
    report = load.report()
    give_up = time.monotonic() + 10
    while len(after := workers(stack)) < len(before) and time.monotonic() < give_up:
        time.sleep(0.2)
    failed = [s for s in report.samples if not s.ok]
    check_invariants(
        stack, "3-worker-killed", report, killed=True,
        promise="the master replaces the worker; errors only in flight on it",
        workers_before=before, workers_after=after, load_tasks=tasks,
    )  # fmt: skip
    assert len(after) == len(before), (before, after)
    assert before[0] not in after, (before, after)
    assert stack.inspect(container)["State"]["StartedAt"] == started_at, "the container restarted"
    assert len(failed) <= tasks, report.errors_by_kind()
    assert all(s.started <= report.marks["killed"] + 0.5 for s in failed), "failed after the kill"
    only_connection_errors(report, killed_at=report.marks["killed"])


def test_redeploy_under_load(stack: ComposeProject) -> None:
    """`up -d --wait --no-deps --force-recreate api`, the plain redeploy `make release`
    replaces: the old gunicorn finishes what it has, then the new container starts; the
    proxy answers 503 with Retry-After while there is none (trickled creates whose bodies
    span the swap get one). Measured from Docker's events: the drain (SIGTERM to exit),
    the swap (exit to the new start), the boot (start to the first answer), and the
    healthcheck's lag: `--wait` returns at the first check that passes, and checks run
    every `interval` (2 s) from the start. Bound: the drain (the trickles' last second)
    plus a swap and a boot, several times slower on a busy machine than on a quiet one."""
    with Load(stack.base_url, seconds=20) as load, ContainerEvents(stack, "api", load) as events:
        load.sleep_until(4)
        trickles = TrickledCreates(stack.base_url, count=3, seconds=2).start()
        load.sleep_until(5)
        load.mark("fault")
        stack("up", "-d", "--wait", "--no-deps", "--force-recreate", "api")
        load.mark("healthy")
        in_flight = trickles.join()
    report = load.report()
    fault = report.marks["fault"]
    sigterm = events.first("kill", fault)
    exited = events.first("die", sigterm)
    started = events.first("start", exited)
    healthy = events.first("health_status: healthy", started)
    recovered(report, "healthy", bound=3)  # and serving once reported healthy
    served = min(s.ended for s in report.samples if s.ok and s.ended > started)
    window = report.error_span(fault, report.seconds)
    created = {id_ for status, id_ in in_flight if id_ is not None}
    check_invariants(
        stack, "4a-redeploy", report,
        promise="refused with 503 and Retry-After meanwhile, none cut; refusal window measured",
        in_flight_requests=[status for status, _ in in_flight],
        refusal_window_s=round(window, 3),
        drain_s=round(exited - sigterm, 3),
        swap_s=round(started - exited, 3),
        boot_s=round(served - started, 3),
        healthy_after_serving_s=round(healthy - served, 3),
        up_wait_s=round(report.marks["healthy"] - fault, 3),
    )  # fmt: skip
    # The proxy reads a request's body whole before it picks an api: a body still
    # arriving when the old container stopped found no api to go to (503), one that
    # arrived before was answered. `make release` leaves no such gap (case 13).
    assert {status for status, _ in in_flight} <= {"201", "503"}, in_flight
    assert not lost_writes(stack, created)
    only_connection_errors(report)
    assert window < 15


def test_stop_with_requests_in_flight(stack: ComposeProject) -> None:
    """`docker compose stop api` while requests are in flight: it returns only once they
    have been answered (gunicorn's graceful shutdown, GUNICORN_GRACEFUL_TIMEOUT), and no
    answer is cut. Then `up -d --no-deps api` brings it back. Bound: a container start and
    gunicorn's boot, several times slower on a busy machine than on a quiet one."""
    with Load(stack.base_url, seconds=27) as load:
        load.sleep_until(3)
        trickles = TrickledCreates(stack.base_url, count=3, seconds=3).start()
        load.sleep_until(4)
        load.mark("fault")
        stack("stop", "api")
        load.mark("stopped")
        in_flight = trickles.join()
        load.sleep_until(10)
        load.mark("start")
        # `start` would run the one-shot steps again first; --no-deps starts the api alone.
        stack("up", "-d", "--no-deps", "api")
    report = load.report()
    recovery = recovered(report, "start", bound=15)
    stop_took = report.marks["stopped"] - report.marks["fault"]
    check_invariants(
        stack, "4b-stop-in-flight", report,
        promise="stop lets the api finish what it has; 503s meanwhile, none cut",
        in_flight_requests=[status for status, _ in in_flight],
        stop_took_s=round(stop_took, 3),
        first_write_after_start_s=recovery,
    )  # fmt: skip
    assert {status for status, _ in in_flight} <= {"201", "503"}, in_flight
    assert not lost_writes(stack, {id_ for _, id_ in in_flight if id_ is not None})
    only_connection_errors(report)


HOG = """
import sys, threading, time
import psycopg
from migrator.settings import MigratorDatabaseSettings

url = MigratorDatabaseSettings.load().url("psycopg")
params = dict(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
              dbname=url.database, connect_timeout=5, application_name="hog", autocommit=True)
FULL = ("too many clients", "remaining connection slots are reserved")
held = []

def take():
    try:
        held.append(psycopg.connect(**params))
        return True
    except psycopg.OperationalError as exc:
        if not any(text in str(exc) for text in FULL):
            raise
        return False

while take():
    pass
print(f"full {len(held)}", flush=True)
released = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), released.set()), daemon=True).start()
while not released.is_set():  # any slot freed meanwhile is taken too
    if not take():
        time.sleep(0.01)
print(f"held {len(held)}", flush=True)
for connection in held:
    connection.close()
"""


@contextmanager
def connections_held(stack: ComposeProject) -> Iterator[subprocess.Popen[str]]:
    """HOG in a one-off migrator container, released on the way out whatever happens."""
    hog = stack.popen(
        "run", "--rm", "-T", "--no-deps", "--entrypoint", "python", "migrator", "-c", HOG,
        stdin=True,
    )  # fmt: skip
    try:
        yield hog
    finally:
        if hog.poll() is None:
            assert hog.stdin is not None
            hog.stdin.write("release\n")
            hog.stdin.flush()
            hog.communicate(timeout=60)


@contextmanager
def workers_stopped(stack: ComposeProject) -> Iterator[None]:
    """gunicorn's workers SIGSTOPped, and continued on the way out whatever happens. (Not
    `docker compose pause`: freezing the cgroup fails now and then, "unable to freeze",
    while a process in it is busy in the kernel.)"""
    workers(stack, "stop")
    try:
        yield
    finally:
        workers(stack, "cont")


def test_connection_exhaustion(stack: ComposeProject) -> None:
    """Another client holds every connection PostgreSQL allows a non-superuser, and the
    api's own are gone, so each request must connect: a fast 503 with Retry-After (53300,
    too many clients), never a wait past POSTGRES_CONNECT_TIMEOUT + DB_POOL_TIMEOUT
    (10 s), and service again once the connections are freed."""
    limit = int(psql(stack, "SHOW max_connections"))
    reserved = int(psql(stack, "SHOW superuser_reserved_connections"))
    others = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND usename <> current_user"
    )
    # The hog first, outside the load's clock (its container takes seconds to start, more
    # on a busy machine); the api keeps serving from the connections its pools hold.
    with connections_held(stack) as hog:
        assert hog.stdin is not None
        assert hog.stdout is not None
        full = hog.stdout.readline()
        assert full.startswith("full"), full + hog.communicate()[0]
        with Load(stack.base_url, seconds=22) as load:
            load.sleep_until(3)
            load.mark("fault")
            # The api holds pooled connections it would go on using; while its workers are
            # stopped they are terminated and the hog takes their slots: continued, they
            # must connect.
            with workers_stopped(stack):
                terminated = psql(
                    stack,
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'api'",
                )
                time.sleep(1)
                free = limit - reserved - int(psql(stack, others))
            load.mark("exhausted")
            load.sleep_until(load.now() + 6)
            load.mark("released")
            hog.stdin.write("release\n")
            hog.stdin.flush()
            held = hog.communicate(timeout=60)[0]
    report = load.report()
    during = report.started_between(report.marks["exhausted"], report.marks["released"])
    refused = [s for s in during if s.outcome == "503"]
    recovery = recovered(report, "released", bound=10)
    check_invariants(
        stack, "5-connection-exhaustion", report,
        promise="fast 503 with Retry-After, never a hang; recovery when freed",
        max_connections=limit, superuser_reserved=reserved,
        hog=" ".join(held.split()), api_connections_terminated=int(terminated),
        free_slots_when_exhausted=free,
        requests_while_exhausted=len(during), answered_503_while_exhausted=len(refused),
        slowest_while_exhausted_s=round(max(s.seconds for s in during), 3),
        first_write_after_release_s=recovery,
    )  # fmt: skip
    assert free == 0
    assert refused, "no request found the connections exhausted"
    assert all(s.outcome == "503" for s in during if not s.ok), report.errors_by_kind()
    assert max(s.seconds for s in during) < 10
    assert set(report.errors_by_kind()) <= {"503"}, report.errors_by_kind()


def test_release_under_load(stack: ComposeProject) -> None:
    """`make release` (tools/release.sh) while the load runs, with creates trickling their
    bodies across the swap: the migrator runs, a new api container starts beside the old,
    the proxy sends it traffic once its /readyz passes, the old one is drained and
    stopped. Nothing may fail and nothing may be lost.

    The proxy's retries would hide a release that stopped the old api undrained (a
    refused connection is tried again on the new one), so the drain is checked where it
    shows: the proxy took each old server out of rotation because its /readyz answered
    503, which only a running, draining api answers, not because it stopped answering."""
    before = set(stack.container_ids("api"))
    servers = proxy_servers(stack)
    old_servers = sorted(servers[a] for c in before for a in addresses(stack, c) if a in servers)
    assert len(old_servers) == len(before), servers  # each on the edge network, one address
    notices_before = len(proxy_notices(stack))
    with Load(stack.base_url, seconds=30) as load:
        load.sleep_until(4)
        # Bodies trickled over 3 s, within the proxy's 5 s for a whole request.
        trickles = TrickledCreates(stack.base_url, count=6, seconds=3).start()
        load.mark("release")
        released = subprocess.run(
            [str(ROOT / "tools" / "release.sh")], cwd=ROOT, capture_output=True, text=True,
            env={**stack.env, "COMPOSE": " ".join(stack.command)}, timeout=300, check=False,
        )  # fmt: skip
        load.mark("released")
        in_flight = trickles.join()
    report = load.report()
    after = set(stack.container_ids("api"))
    created = {id_ for status, id_ in in_flight if id_ is not None}
    taken_down = first_taken_down(proxy_notices(stack)[notices_before:], old_servers)
    check_invariants(
        stack, "13-release", report,
        promise="no request fails, no write is lost, every api container is replaced",
        release_s=round(report.marks["released"] - report.marks["release"], 3),
        in_flight_requests=[status for status, _ in in_flight],
        release_steps=[line for line in released.stderr.splitlines() if line.startswith("release")],
        old_servers_taken_down=taken_down,
    )  # fmt: skip
    assert released.returncode == 0, released.stdout + released.stderr
    for server, notice in taken_down.items():
        assert "Layer7 wrong status, code: 503" in (notice or ""), (server, notice)
    assert not report.errors_by_kind(), report.errors_by_kind()
    assert [status for status, _ in in_flight] == ["201"] * 6, in_flight
    assert not lost_writes(stack, created)
    assert after
    assert not after & before, "an api container was not replaced"


def test_restart_api_under_load(stack: ComposeProject) -> None:
    """A plain `docker compose restart api`: every api container stops and starts at
    once, so the proxy has nowhere to send requests meanwhile; its retries (3, a second
    apart at most) absorb what they can. Measured, not promised: what it costs."""
    with Load(stack.base_url, seconds=20) as load:
        load.sleep_until(4)
        load.mark("fault")
        stack("restart", "api")
        load.mark("restarted")
    report = load.report()
    check_invariants(
        stack, "14-restart-api", report,
        promise="measured: what the proxy's retries absorb of a restart of every api container",
        restart_s=round(report.marks["restarted"] - report.marks["fault"], 3),
        refusal_window_s=round(report.error_span(report.marks["fault"], report.seconds), 3),
        proxy_answers=Counter(f"{a['status']} {a['termination']}" for a in proxy_lines(stack)),
    )  # fmt: skip
    # Mostly 503s; a request caught as every api stops may also see its connection
    # closed (once in 2,442 in CI, never locally). Nothing else, and only meanwhile.
    only_connection_errors(report)
    # Until the proxy's next check (every 1 s, rise 1) finds a restarted api ready: in a
    # CI run (2026-12-07) 503s went on 2.3 s after `restart` returned, so 3 s, not 2.
    failed = [s for s in report.samples if not s.ok]
    assert all(
        report.marks["fault"] <= s.started <= report.marks["restarted"] + 3 for s in failed
    ), failed
    recovered(report, "restarted", bound=10)
