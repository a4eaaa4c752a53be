"""The Prometheus configuration, the rules and Alertmanager's configuration, checked by
the tools themselves, and the rules' unit tests: every alert fires in a test case and
stays quiet in another, each has a severity, a summary and a runbook section of
docs/operating.md, and the generated files are what `make monitoring` makes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client.utils import floatToGoString

from api.observability.metrics import DURATION
from harness.paths import ROOT
from tests.monitoring.tools import (
    ALERTMANAGER,
    PROMETHEUS,
    TEST_FILES,
    Rule,
    alerting_rules,
    tool_or_skip,
    unit_tests,
)
from tools import monitoring

OPERATING = ROOT / "docs" / "operating.md"
SEVERITIES = {"page", "ticket"}


def run(*command: str, cwd: Path = PROMETHEUS) -> str:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.dev.yml"])
def test_promtool_finds_the_configuration_and_every_rule_file_clean(config: str) -> None:
    output = run(tool_or_skip("promtool"), "check", "config", config)
    # The configuration's rule_files glob finds every rule file, and each is checked.
    assert len(re.findall(r"Checking rules/", output)) == len(list(PROMETHEUS.glob("rules/*")))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda path: path.name)
def test_the_rules_unit_tests_pass(path: Path) -> None:
    run(tool_or_skip("promtool"), "test", "rules", str(path.relative_to(PROMETHEUS)))


def rule_id(rule: Rule) -> str:
    return f"{rule.alert}{rule.labels}"


@pytest.mark.parametrize("rule", alerting_rules(), ids=rule_id)
def test_every_alert_fires_in_a_test_case_and_stays_quiet_in_another(rule: Rule) -> None:
    fired, quiet = False, False
    for document in unit_tests().values():
        if f"../rules/{rule.file.name}" not in document["rule_files"]:
            continue
        for case in document["tests"]:
            for check in case.get("alert_rule_test", []):
                if check["alertname"] != rule.alert:
                    continue
                quiet |= not check.get("exp_alerts")
                fired |= any(
                    rule.labels.items() <= expected.get("exp_labels", {}).items()
                    for expected in check.get("exp_alerts") or []
                )
    assert fired, f"no test case of {rule.file.name} expects {rule_id(rule)} to fire"
    assert quiet, f"no test case of {rule.file.name} expects {rule.alert} to stay quiet"


def headings(markdown: str) -> set[str]:
    """GitHub's anchors of a document's headings."""
    anchors = set()
    for title in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize("rule", alerting_rules(), ids=rule_id)
def test_every_alert_has_a_severity_a_summary_and_a_runbook_section(rule: Rule) -> None:
    assert rule.labels.get("severity") in SEVERITIES
    annotations = rule.spec["annotations"]
    assert annotations.get("summary")
    document, _, anchor = annotations["runbook_url"].partition("#")
    assert document == "docs/operating.md"
    assert anchor in headings(OPERATING.read_text()), f"no heading #{anchor} in {document}"


def test_the_generated_rules_tests_and_dashboard_are_up_to_date() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in monitoring.outputs().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"run make monitoring: {stale}"
    generated = {path.name for path in monitoring.outputs()}
    for folder in ("rules", "tests"):
        for path in (PROMETHEUS / folder).glob("slo*"):
            assert path.name in generated, f"{path} is no longer generated: remove it"


def test_each_latency_threshold_is_a_bucket_of_the_apis_histogram() -> None:
    _, slos = monitoring.load()
    # As prometheus_client writes them into the `le` label.
    buckets = {f'le="{floatToGoString(bucket)}"' for bucket in DURATION._upper_bounds}  # type: ignore[no-untyped-call]
    for slo in slos:
        for threshold in re.findall(r'le="[^"]+"', slo.errors):
            assert threshold in buckets, f"{slo.name}: {threshold} is no bucket"


def test_alertmanager_checks_its_configuration_and_routes_by_severity() -> None:
    amtool = tool_or_skip("amtool")
    run(amtool, "check-config", str(ALERTMANAGER))
    for severity in sorted(SEVERITIES):
        receiver = run(
            amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
            f"severity={severity}",
        )  # fmt: skip
        assert receiver.strip() == severity
