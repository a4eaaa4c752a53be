"""The benchmark's own parts that `make bench args=--smoke` cannot show on one machine:
cgroup v1 and v2 alike, the other apps' services and images kept in step with ours, and
wrk's own CPU measured."""

from __future__ import annotations

import http.server
import re
import threading
import tomllib
from pathlib import Path

import pytest

from bench.apps import App, failed_answers
from bench.load import OURS, Result, Scenario, require_wrk, run_wrk
from bench.measure import cgroup_cpu_file, read_cgroup_cpu
from bench.report import errors, median_result, workers_line
from harness.paths import ROOT
from migrator.image_users import API_UID
from migrator.steps.secrets import SECRETS_DIR
from tests.compose.test_files import rendered

CONTAINER = "/docker/0123abcd"


def test_cgroup_v2_counter_is_cpu_stat(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    group = tmp_path / "docker" / "0123abcd"
    group.mkdir(parents=True)
    (group / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    counter = cgroup_cpu_file(f"0::{CONTAINER}\n", tmp_path)
    assert counter == group / "cpu.stat"
    assert read_cgroup_cpu(counter) == pytest.approx(2.5)


@pytest.mark.parametrize("mount", ["cpuacct", "cpu,cpuacct"])
def test_cgroup_v1_counter_is_cpuacct_usage(tmp_path: Path, mount: str) -> None:
    group = tmp_path / mount / "docker" / "0123abcd"
    group.mkdir(parents=True)
    (group / "cpuacct.usage").write_text("1500000000\n")
    memberships = (
        f"4:memory:{CONTAINER}\n2:cpu,cpuacct:{CONTAINER}\n1:name=systemd:{CONTAINER}\n"
        f"0::{CONTAINER}\n"  # a hybrid host also lists the unified hierarchy
    )
    counter = cgroup_cpu_file(memberships, tmp_path)
    assert counter == group / "cpuacct.usage"
    assert read_cgroup_cpu(counter) == pytest.approx(1.5)


def test_no_cpu_counter_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no cgroup"):
        cgroup_cpu_file(f"4:memory:{CONTAINER}\n", tmp_path)


def test_tutorial_service_reads_the_api_password_as_the_api_uid() -> None:
    tutorial = rendered("compose.yaml", "bench/compose.tutorial.yaml")["services"]["tutorial"]
    assert tutorial["user"] == f"{API_UID}:{API_UID}"
    (volume,) = tutorial["volumes"]
    assert (volume["source"], volume["target"], volume["read_only"]) == (
        "secrets",
        str(SECRETS_DIR),
        True,
    )
    assert f"{SECRETS_DIR}/api_db_password" in " ".join(tutorial["command"])
    assert "@db:5432/" in " ".join(tutorial["command"])
    assert tutorial["depends_on"]["migrator"]["condition"] == "service_completed_successfully"
    assert not any("PASSWORD" in name for name in tutorial.get("environment", {}))


@pytest.mark.parametrize("app", ["baseline", "bare"])
def test_other_apps_requirements_are_pinned_to_our_lock(app: str) -> None:
    """The apps must run the same library versions, or the bench compares those."""
    locked = {
        package["name"]: package["version"]
        for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]
        if "version" in package
    }
    pins = re.findall(
        r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$",
        (ROOT / "bench" / app / "requirements.txt").read_text(),
        flags=re.MULTILINE,
    )
    assert pins, f"bench/{app}/requirements.txt pins nothing"
    for name, version in pins:
        assert locked.get(name.lower()) == version, (
            f"{name}=={version}; uv.lock has {locked.get(name.lower())}"
        )


def test_failed_answers_are_counted_from_the_access_lines() -> None:
    log = "\n".join([
        '{"logger":"api.access","method":"GET","route":"/users/{user_id}","status":200}',
        '{"logger":"api.access","method":"GET","route":"/users/{user_id}","status":503}',
        '{"logger":"api.access","method":"GET","route":"/users/{user_id}","status":503}',
        '{"logger":"api.access","method":"POST","route":"/users","status":409}',
        "[2026-11-26 03:00:00 +0000] [1] [INFO] not JSON, from before logging was set up",
        '{"logger":"gunicorn.error","level":"INFO","message":"Booting worker"}',
        '{"logger":"api","level":"WARNING","time":"04:00Z","message":"database unavailable"}',
    ])  # fmt: skip
    answers, warnings, when = failed_answers(log).splitlines()
    assert answers.endswith("{'GET /users/{user_id} 503': 2, 'POST /users 409': 1}")
    assert warnings.endswith("{'WARNING database unavailable': 1}")
    assert when == "  04:00Z WARNING database unavailable"
    assert failed_answers(log.splitlines()[0]).splitlines() == [
        "our api's answers of 400 or more (access log): none",
        "our api's warnings and errors: none",
    ]


def test_socket_errors_are_told_apart_from_failed_answers() -> None:
    results = [
        Result(requests_per_s=1.0, p50_ms=1.0, p99_ms=1.0, errors=2, requests=9, socket_errors=1),
        Result(requests_per_s=1.0, p50_ms=1.0, p99_ms=1.0, errors=1, requests=9),
    ]
    assert errors(median_result(results)) == "3 (1 socket)"
    assert errors(results[1]) == "1"


def test_workers_line_is_their_cpu_per_request() -> None:
    ours = App(OURS, "http://127.0.0.1:1", 1)
    ours.results["GET /users/{id}"] = [
        Result(1.0, 1.0, 1.0, 0, 4_000, cpu_s={"api": 2.0, "api/workers": 1.0}),
        Result(1.0, 1.0, 1.0, 0, 2_000, cpu_s={"api": 2.0, "api/workers": 0.6}),
    ]
    assert workers_line(ours) == ["our workers' own CPU, us per request: GET /users/{id} 275"]


class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def test_wrk_reports_its_own_cpu_beside_the_requests() -> None:
    """The client's CPU, as the door bench reports it, is wrk's: measured, not zero."""
    require_wrk()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        scenario = Scenario("GET /", "get.lua", {OURS: "/"}, connections=2)
        result = run_wrk(f"http://127.0.0.1:{server.server_port}", "/", scenario, 1, 1, "t")
    finally:
        server.shutdown()
    assert result.requests > 0
    assert result.errors == 0
    # wrk spends CPU on every request it makes; a second of it, more than a millisecond.
    assert 0.001 < result.client_cpu_s < 5
