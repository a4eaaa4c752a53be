"""What every fault case checks and reports, against the stack's own database."""

from __future__ import annotations

import json
import re
import subprocess
import time
from typing import Any

from harness.compose import ComposeProject
from harness.load import Load, LoadReport
from harness.paths import ROOT
from tests.support.logs import log_lines

ARTIFACTS = ROOT / "tests" / "artifacts" / "faults"


def psql(stack: ComposeProject, sql: str) -> str:
    """``sql`` through psql in the db container, as the superuser, on the app's database;
    unaligned, tuples only."""
    script = 'exec psql -U "${POSTGRES_USER:-postgres}" -d app -At -v ON_ERROR_STOP=1 -c "$0"'
    return stack("exec", "-T", "db", "sh", "-c", script, sql).stdout.strip()


def lost_writes(stack: ComposeProject, acknowledged: set[int]) -> set[int]:
    """The ids a create (harness.load: a post) answered 2xx with that are not in the
    database."""
    present = {int(line) for line in psql(stack, "SELECT id FROM posts").split()}
    return acknowledged - present


def record(case: str, figures: dict[str, Any]) -> None:
    """Prints the case's figures and keeps them in tests/artifacts/faults/<case>.json
    (pytest shows a passing test's output only with -rP)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(figures, indent=2)
    (ARTIFACTS / f"{case}.json").write_text(text + "\n")
    print(f"\nfault {case}:\n{text}")


def check_invariants(
    stack: ComposeProject, case: str, report: LoadReport, *, killed: bool = False, **promised: Any
) -> None:
    """Records the figures, then: no acknowledged write lost, nothing answered 500, every
    503 said when to retry, and no response was cut once it had started, unless a
    process serving it was ``killed`` (SIGKILL leaves no chance to finish a response)."""
    lost = lost_writes(stack, report.acknowledged_ids)
    figures = {**report.figures(), "acknowledged_writes_lost": len(lost), **promised}
    record(case, figures)
    assert not lost, f"{len(lost)} acknowledged writes are not in the database: {sorted(lost)[:20]}"
    errors = report.errors_by_kind()
    assert "500" not in errors, errors
    unavailable = [s for s in report.samples if s.outcome == "503"]
    assert all(s.retry_after for s in unavailable), "a 503 without Retry-After"
    if not killed:
        assert figures["cut_responses"] == 0, "a response started but did not finish"


class ContainerEvents:
    """The Docker events of one service's containers while the block runs, on the load's
    clock: ``(seconds, action)``, e.g. ``(5.2, "kill")``, ``(7.9, "health_status: healthy")``."""

    def __init__(self, stack: ComposeProject, service: str, load: Load) -> None:
        self.command = [
            "docker", "events", "--format", "{{.TimeNano}} {{.Action}}",
            "--filter", "type=container",
            "--filter", f"label=com.docker.compose.project={stack.project}",
            "--filter", f"label=com.docker.compose.service={service}",
        ]  # fmt: skip
        self.load = load
        self.events: list[tuple[float, str]] = []

    def __enter__(self) -> ContainerEvents:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # subscribed before anything happens
        return self

    def __exit__(self, *exc: object) -> None:
        offset = time.time() - self.load.now()  # wall clock minus the load's clock
        time.sleep(0.5)  # the last events delivered
        self.process.terminate()
        output, _ = self.process.communicate(timeout=10)
        for line in output.splitlines():
            nanoseconds, action = line.split(" ", 1)
            self.events.append((int(nanoseconds) / 1e9 - offset, action))

    def first(self, action: str, after: float = 0.0) -> float:
        """When ``action`` first happened at or after ``after``."""
        times = [at for at, happened in self.events if happened == action and at >= after]
        assert times, f"no {action} after {after:.1f}s in {self.events}"
        return min(times)


# Run in an api container: the proxy's statistics are on the internal network only.
PROXY_SERVERS = """
import csv, io, json, urllib.request
text = urllib.request.urlopen("http://proxy:8404/stats;csv", timeout=5).read().decode()
rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
print(json.dumps({row["addr"].rsplit(":", 1)[0]: row["svname"] for row in rows
                  if row["pxname"] == "api" and row["addr"]}))
"""


def proxy_servers(stack: ComposeProject) -> dict[str, str]:
    """The proxy's api servers (its `server-template` slots: api1, api2, ...) by address."""
    found: dict[str, str] = json.loads(
        stack("exec", "-T", "api", "python", "-c", PROXY_SERVERS).stdout
    )
    return found


# Run in an api container, as PROXY_SERVERS: one value of the proxy's own metrics.
PROXY_METRIC = """
import sys, urllib.request
text = urllib.request.urlopen("http://proxy:8404/metrics", timeout=5).read().decode()
print(next(line.split()[1] for line in text.splitlines() if line.startswith(sys.argv[1] + " ")))
"""


def proxy_metric(stack: ComposeProject, name: str) -> float:
    return float(stack("exec", "-T", "api", "python", "-c", PROXY_METRIC, name).stdout)


def proxy_dropped_lines(stack: ComposeProject) -> int:
    """Log lines the proxy dropped rather than block on: it never waits for its stdout,
    and a thread gives up when another one is writing (fd_write_frag_line)."""
    return int(proxy_metric(stack, "haproxy_process_dropped_logs_total"))


def addresses(stack: ComposeProject, container_id: str) -> list[str]:
    networks = stack.inspect(container_id)["NetworkSettings"]["Networks"]
    return [network["IPAddress"] for network in networks.values() if network["IPAddress"]]


def proxy_lines(stack: ComposeProject) -> list[dict[str, Any]]:
    """The proxy's access lines (its own notices, at start and on changes, are plain text)."""
    log = stack.service_log("proxy")
    return log_lines("\n".join(line for line in log.splitlines() if line.startswith("{")))


def proxy_notices(stack: ComposeProject) -> list[str]:
    """What the proxy said of its servers, oldest first (its plain-text lines: the
    access lines are JSON)."""
    log = stack.service_log("proxy")
    return [line for line in log.splitlines() if line.strip() and not line.startswith("{")]


def first_taken_down(notices: list[str], servers: list[str]) -> dict[str, str | None]:
    """For each server, the first notice that took it out of rotation (a failed check,
    or its name gone from DNS), or None."""
    down = {server: re.compile(rf"Server api/{server} is (going )?DOWN\b") for server in servers}
    return {
        server: next((line for line in notices if pattern.search(line)), None)
        for server, pattern in down.items()
    }
