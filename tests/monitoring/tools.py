"""promtool and amtool on the host (Debian's prometheus and prometheus-alertmanager
packages; .ci/run installs them), and reading the rule and test files."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.paths import ROOT

MONITORING = ROOT / "services" / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
ALERTMANAGER = MONITORING / "alertmanager" / "alertmanager.yml"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yaml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yaml"))
PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


def tool_or_skip(name: str) -> str:
    """The tool's path; skipped without it, except in CI, which must run every check."""
    found = shutil.which(name)
    if found is not None:
        return found
    reason = f"{name} is not installed (apt-get install {PACKAGES[name]})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs every check: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Rule:
    file: Path
    group: str
    spec: dict[str, Any]

    @property
    def alert(self) -> str | None:
        return self.spec.get("alert")

    @property
    def labels(self) -> dict[str, str]:
        labels: dict[str, str] = self.spec.get("labels", {})
        return labels


def rules(files: list[Path] = RULE_FILES) -> list[Rule]:
    return [
        Rule(path, group["name"], rule)
        for path in files
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alerting_rules() -> list[Rule]:
    return [rule for rule in rules() if rule.alert]


def unit_tests() -> dict[Path, dict[str, Any]]:
    return {path: yaml.safe_load(path.read_text()) for path in TEST_FILES}
