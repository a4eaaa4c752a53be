"""End to end: compose.yaml with the monitoring profile and two api containers, under
load: every target up (each api container its own), every rule group healthy, the load's
statements in pg_stat_statements, every dashboard and rule query parsing and returning
data (or on EMPTY_WHEN_HEALTHY, with why) and naming only metrics that exist; then the
api stopped pages through Alertmanager to a webhook (a standard-library server that
prints what it gets). A test-only override (`shortened`, `override`) shortens intervals
and every `for:` (the shipped values are the promtool tests'), and publishes Prometheus
on a free port of 127.0.0.1."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.compose import ComposeProject
from harness.load import Load
from harness.postgres import free_port
from tests.monitoring.promql import metric_names, selectors
from tests.monitoring.tools import ALERTMANAGER, MONITORING, PROMETHEUS, rules
from tests.support.docker import with_docker_or_skip

pytestmark = pytest.mark.e2e

API_CONTAINERS = 2
# Queries that return nothing while the stack is healthy, and why: matched as substrings
# of a query or of one of its selectors.
EMPTY_WHEN_HEALTHY = {
    'http_requests_total{status=~"5.."}': "the api answers no server error",
}
# Grafana's own variable, given the value it has on a dashboard of the last few hours.
RATE_INTERVAL = "1m"

WEBHOOK = """\
import http.server


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        print(self.path, body.decode(), flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("", 8080), Receiver).serve_forever()
"""


def shortened(folder: Path) -> None:
    """The shipped configuration, with every interval and `for:` of seconds."""
    prometheus = folder / "prometheus"
    shutil.copytree(PROMETHEUS, prometheus, ignore=shutil.ignore_patterns("tests"))
    config = yaml.safe_load((prometheus / "prometheus.yml").read_text())
    config["global"] |= {
        "scrape_interval": "2s",
        "scrape_timeout": "2s",
        "evaluation_interval": "2s",
    }
    (prometheus / "prometheus.yml").write_text(yaml.safe_dump(config))
    for path in (prometheus / "rules").glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        for group in document["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "4s"
        path.write_text(yaml.safe_dump(document))
    alertmanager = yaml.safe_load(ALERTMANAGER.read_text())
    alertmanager["route"] |= {"group_wait": "1s", "group_interval": "2s"}
    for receiver in alertmanager["receivers"]:
        receiver["webhook_configs"] = [
            {"url": f"http://webhook:8080/{receiver['name']}", "send_resolved": True}
        ]
    (folder / "alertmanager").mkdir()
    (folder / "alertmanager" / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager))
    (folder / "webhook.py").write_text(WEBHOOK)


def override(folder: Path, prometheus_port: int) -> Path:
    document = {
        "services": {
            "prometheus": {
                "volumes": [f"{folder}/prometheus:/etc/prometheus:ro"],
                "ports": [f"127.0.0.1:{prometheus_port}:9090"],
            },
            "alertmanager": {"volumes": [f"{folder}/alertmanager:/etc/alertmanager:ro"]},
            "webhook": {
                "profiles": ["monitoring"],
                "image": os.environ.get("PYTHON_IMAGE", "python:3.13-slim"),
                "command": ["python", "-u", "/webhook/webhook.py"],
                "volumes": [f"{folder}:/webhook:ro"],
                "networks": ["monitoring"],
            },
        }
    }
    path = folder / "compose.monitoring-test.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


class Prometheus:
    def __init__(self, port: int) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)

    def get(self, path: str, **params: str) -> Any:
        answer = self.client.get(path, params=params).json()
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.get("/query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result


def eventually(check: Callable[[], str | None], seconds: float = 90) -> None:
    """Until ``check`` returns None (all well), or fail with what it last said."""
    give_up_at = time.monotonic() + seconds
    while (problem := check()) is not None:
        assert time.monotonic() < give_up_at, problem
        time.sleep(1)


@pytest.fixture(scope="module")
def monitored(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ComposeProject, Prometheus]]:
    with_docker_or_skip()
    folder = tmp_path_factory.mktemp("monitoring")
    shortened(folder)
    port = free_port()
    stack = ComposeProject(prefix="mon", files=("compose.yaml", str(override(folder, port))))
    stack.env["COMPOSE_PROFILES"] = "monitoring"
    try:
        stack("up", "--build", "--wait", "--scale", f"api={API_CONTAINERS}")
        yield stack, Prometheus(port)
    finally:
        stack.remove()


@pytest.fixture(scope="module")
def loaded(monitored: tuple[ComposeProject, Prometheus]) -> Iterator[Prometheus]:
    """Under load (writers and readers) for the module's query checks, a minute of it
    before the first, so every rate has samples."""
    stack, prometheus = monitored
    with Load(stack.base_url, seconds=math.inf, writers=2, readers=2, pause=0.05) as load:
        time.sleep(45)
        yield prometheus
        load.stop()


def test_every_target_is_up_each_api_container_its_own(loaded: Prometheus) -> None:
    def problem() -> str | None:
        targets = loaded.get("/targets")["activeTargets"]
        down = [(t["labels"]["job"], t["lastError"]) for t in targets if t["health"] != "up"]
        jobs = sorted(t["labels"]["job"] for t in targets)
        expected = sorted(
            ["api"] * API_CONTAINERS + ["alertmanager", "postgres", "prometheus", "proxy"]
        )
        return None if not down and jobs == expected else f"targets {jobs}, down: {down}"

    eventually(problem)


def test_every_rule_group_evaluates_without_error(loaded: Prometheus) -> None:
    groups = loaded.get("/rules")["groups"]
    assert {group["file"].rsplit("/", 1)[-1] for group in groups} == {
        path.name for path in (PROMETHEUS / "rules").glob("*.yaml")
    }
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] == "ok", (group["name"], rule["name"], rule.get("lastError"))
            assert not rule.get("lastError"), (group["name"], rule["name"])


def test_the_statements_of_the_load_are_in_pg_stat_statements(loaded: Prometheus) -> None:
    statements = loaded.query('pg_stat_statements_calls_total{datname="app",user="app_api"}')
    assert statements, "no statement of the api's in pg_stat_statements"
    texts = loaded.query("pg_stat_statements_query_id")
    assert any("users" in series["metric"]["query"] for series in texts)


def dashboard_queries() -> list[str]:
    document = json.loads((MONITORING / "dashboards" / "api.json").read_text())
    return [
        target["expr"].replace("$__rate_interval", RATE_INTERVAL)
        for panel in document["panels"]
        for target in panel.get("targets", [])
    ]


def explained(text: str) -> bool:
    return any(key in text for key in EMPTY_WHEN_HEALTHY)


def test_every_dashboard_and_recording_rule_query_returns_data(loaded: Prometheus) -> None:
    queries = dashboard_queries() + [rule.spec["expr"] for rule in rules() if not rule.alert]
    empty = [query for query in queries if not loaded.query(query) and not explained(query)]
    assert not empty, "\n".join(empty)


def test_every_alert_expression_parses_and_each_of_its_selectors_returns_data(
    loaded: Prometheus,
) -> None:
    """An alert's expression is empty on a healthy stack, by design; what it reads must
    not be, or it could never fire."""
    missing = []
    for rule in rules():
        if rule.alert:
            loaded.query(rule.spec["expr"])  # parses and evaluates
            for selector in selectors(rule.spec["expr"]):
                if not loaded.query(selector) and not explained(selector):
                    missing.append(f"{rule.alert}: {selector}")
    assert not missing, "\n".join(missing)


def test_every_metric_named_exists_or_a_rule_records_it(loaded: Prometheus) -> None:
    names = set(loaded.get("/label/__name__/values"))
    names |= {rule.spec["record"] for rule in rules() if not rule.alert}
    queries = dashboard_queries() + [rule.spec["expr"] for rule in rules()]
    unknown = sorted({name for query in queries for name in metric_names(query)} - names)
    assert not unknown, unknown


def test_a_stopped_api_pages_through_alertmanager_to_the_webhook(
    monitored: tuple[ComposeProject, Prometheus], loaded: Prometheus
) -> None:
    stack, _ = monitored
    stack("stop", "api")

    def page() -> str | None:
        for line in stack.service_log("webhook").splitlines():
            path, _, body = line.partition(" ")
            if not body.startswith("{"):
                continue
            notification = json.loads(body)
            for alert in notification["alerts"]:
                if alert["labels"]["alertname"] == "NoReadyApi" and alert["status"] == "firing":
                    assert path == "/page"
                    assert alert["annotations"]["runbook_url"] == "docs/operating.md#noreadyapi"
                    return None
        return "no NoReadyApi page at the webhook yet:\n" + stack.service_log("webhook")[-2000:]

    eventually(page, seconds=120)
    assert re.search(r"/page ", stack.service_log("webhook"))
