"""Generated monitoring files, from services/monitoring/slo.yaml and the panels below:
the SLO recording rules and multi-window, multi-burn-rate alerts, their promtool tests,
and the Grafana dashboard (docs/operating.md, "Monitoring").

    python -m tools.monitoring           # rewrite them (make monitoring)
    python -m tools.monitoring --check   # exit 1 if any is out of date (the tests run this)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.utils import floatToGoString

from tools.dashboard import dashboard

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "services" / "monitoring"
SLO_FILE = MONITORING / "slo.yaml"
PROMETHEUS = MONITORING / "prometheus"
DEVELOPMENT_CONFIG = PROMETHEUS / "prometheus.dev.yml"
# The development override's api: one uvicorn, /metrics on its one port (METRICS_PORT).
DEVELOPMENT_METRICS_PORT = 8000
DASHBOARD = MONITORING / "dashboards" / "api.json"

# The windows each SLI's error ratio is recorded over: every long and short window below.
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
RUNBOOK = "docs/operating.md#sloerrorbudgetburn"


@dataclass(frozen=True)
class Burn:
    """One alert of the SRE workbook's table: the budget burns `factor` times as fast as
    the period allows, over the long window and, so it stops soon after, the short one."""

    severity: str
    long: str
    short: str
    factor: float
    for_: str

    @property
    def budget_share(self) -> str:
        """What firing means: the share of the 30-day budget spent in the long window."""
        hours = {"1h": 1, "6h": 6, "1d": 24, "3d": 72}[self.long]
        return f"{self.factor * hours / (30 * 24):.0%}"


# The workbook's (and the kubernetes-mixin's) four: 2% and 5% of the budget in an hour
# and six page; 10% in a day and 10% in three days open a ticket.
BURNS = (
    Burn("page", "1h", "5m", 14.4, "2m"),
    Burn("page", "6h", "30m", 6, "15m"),
    Burn("ticket", "1d", "2h", 3, "1h"),
    Burn("ticket", "3d", "6h", 1, "3h"),
)


@dataclass(frozen=True)
class Slo:
    name: str
    description: str
    objective: float  # percent
    errors: str  # PromQL, with $window
    total: str
    # The unit tests' input: (series, kind) pairs, kind "bad", "good" or "all" requests.
    test_series: tuple[tuple[str, str], ...]

    @property
    def budget(self) -> float:
        return round(1 - self.objective / 100, 6)

    @classmethod
    def of(cls, spec: dict[str, Any]) -> Slo:
        if "events" in spec:
            events = spec["events"]
            errors, total = events["errors"], events["total"]
            tests = ((events["test"]["bad"], "bad"), (events["test"]["good"], "good"))
        else:
            selector, threshold = spec["latency"]["selector"], float(spec["latency"]["threshold"])
            le = f'le="{floatToGoString(threshold)}"'  # type: ignore[no-untyped-call]
            count = f"sum(rate(http_request_duration_seconds_count{{{selector}}}[$window]))"
            fast = f"sum(rate(http_request_duration_seconds_bucket{{{selector},{le}}}[$window]))"
            errors, total = f"({count} - {fast})", count
            labels = spec["latency"]["test"]
            tests = (
                (f"http_request_duration_seconds_count{{{labels}}}", "all"),
                (f"http_request_duration_seconds_bucket{{{labels},{le}}}", "good"),
            )
        description = " ".join(spec["description"].split())
        return cls(spec["name"], description, spec["objective"], errors, total, tests)


def load(path: Path = SLO_FILE) -> tuple[str, list[Slo]]:
    document = yaml.safe_load(path.read_text())
    return document["period"], [Slo.of(spec) for spec in document["slos"]]


def ratio(slo: Slo, window: str) -> str:
    return f'slo:sli_error:ratio_rate{window}{{slo="{slo.name}"}}'


def burn_alert(slo: Slo, burn: Burn, period: str) -> dict[str, Any]:
    threshold = f"({burn.factor:g} * {slo.budget:g})"
    return {
        "alert": "SLOErrorBudgetBurn",
        "expr": f"{ratio(slo, burn.long)} > {threshold}\n"
                f"and\n{ratio(slo, burn.short)} > {threshold}",
        "for": burn.for_,
        "labels": {"severity": burn.severity, "slo": slo.name, "window": burn.long},
        "annotations": {
            "summary": f"SLO {slo.name} is burning its error budget {burn.factor:g}x "
                       f"too fast ({burn.budget_share} of it in {burn.long})",
            "description": f"{slo.description} Objective {slo.objective:g}% over {period}; "
                           f"over the last {burn.long} and {burn.short} the error ratio "
                           f"exceeded {burn.factor:g}x the budget.",
            "runbook_url": RUNBOOK,
        },
    }  # fmt: skip


def rule_groups(period: str, slos: list[Slo]) -> dict[str, Any]:
    groups = []
    for slo in slos:
        rules: list[dict[str, Any]] = [
            {"record": "slo:objective:ratio", "expr": f"vector({slo.objective / 100:g})",
             "labels": {"slo": slo.name}},
            {"record": "slo:error_budget:ratio", "expr": f"vector({slo.budget:g})",
             "labels": {"slo": slo.name}},
        ]  # fmt: skip
        for window in WINDOWS:
            expr = f"{slo.errors} / {slo.total}".replace("$window", window)
            rules.append({"record": f"slo:sli_error:ratio_rate{window}", "expr": expr,
                          "labels": {"slo": slo.name}})  # fmt: skip
        # The period's ratio from the 5-minute one: cheap, and what the budget panel shows.
        rules.append({
            "record": f"slo:sli_error:ratio_rate{period}",
            "expr": f"avg_over_time({ratio(slo, '5m')}[{period}])",
            "labels": {"slo": slo.name},
        })  # fmt: skip
        rules += [burn_alert(slo, burn, period) for burn in BURNS]
        groups.append({"name": f"slo-{slo.name}", "rules": rules})
    return {"groups": groups}


# --- promtool tests: per SLO, each burn alone, and the cases that must stay quiet --------

MINUTES = {"5m": 5, "30m": 30, "1h": 60, "2h": 120, "6h": 360, "1d": 1440, "3d": 4320}


@dataclass(frozen=True)
class Phase:
    minutes: int
    requests: int  # a minute, all of them
    bad_percent: float  # of them


@dataclass(frozen=True)
class Scenario:
    """Traffic, one phase after another, then which burn alerts fire at its end."""

    name: str
    phases: tuple[Phase, ...]
    fires: tuple[str, ...]  # long windows


def scenarios(budget_percent: float) -> list[Scenario]:
    """In multiples of the budget, so each holds for any objective. Windows need not be
    full: a ratio is over the samples there are. Busier clean hours come first where a
    longer window must stay below its threshold (diluted by them), then six ordinary
    ones, so the short windows see ordinary traffic alone."""
    busier, busier_day = Phase(720, 10000, 0), Phase(1440, 10000, 0)
    clean = (busier, Phase(360, 1000, 0))
    after = Phase(18, 1000, 0)

    def times(multiple: float) -> float:
        return min(100.0, multiple * budget_percent)

    return [
        Scenario("1h burn alone: 20 minutes at 80x", (*clean, Phase(20, 1000, times(80))),
                 ("1h",)),
        Scenario("6h burn alone: 6 hours at 7x", (*clean, Phase(360, 1000, times(7))), ("6h",)),
        # The day's window must hold the errors alone for longer than the alert's `for`.
        Scenario("1d burn alone: 26 hours at 4x", (busier_day, Phase(1560, 1000, times(4))),
                 ("1d",)),
        Scenario("3d burn alone: 7 hours at 1.5x", (Phase(420, 1000, times(1.5)),), ("3d",)),
        Scenario("quiet: an hour at 14x", (*clean, Phase(60, 1000, times(14))), ()),
        Scenario("quiet: 6 hours at 5.8x", (*clean, Phase(360, 1000, times(5.8))), ()),
        Scenario("quiet: 26 hours at 2.9x", (busier_day, Phase(1560, 1000, times(2.9))), ()),
        Scenario("quiet: 7 hours at 0.9x", (Phase(420, 1000, times(0.9)),), ()),
        Scenario("quiet: a two-minute spike of errors only",
                 (*clean, Phase(2, 1000, 100), after), ()),
    ]  # fmt: skip


def number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(round(value, 6))


# Samples every 2 minutes (a 5-minute rate still has two or three), rules evaluated every
# 5: the windows hold what they would in production, at a fraction of promtool's work.
SAMPLE_MINUTES = 2


def series_values(phases: tuple[Phase, ...], kind: str) -> str:
    """promtool's expanding notation for a counter of `kind` ("bad", "good" or "all"
    requests), a sample every SAMPLE_MINUTES from 0."""
    parts, value = [], 0.0
    for index, phase in enumerate(phases):
        assert phase.minutes % SAMPLE_MINUTES == 0, phase
        bad = phase.requests * phase.bad_percent / 100
        step = {"bad": bad, "good": phase.requests - bad, "all": phase.requests}[kind]
        step *= SAMPLE_MINUTES
        samples = phase.minutes // SAMPLE_MINUTES
        # The first phase starts with the sample at 0; each later one a sample on.
        start, more = (value, samples) if index == 0 else (value + step, samples - 1)
        parts.append(f"{number(start)}+{number(step)}x{more}")
        value = start + step * more
    return " ".join(parts)


def input_series(slo: Slo, phases: tuple[Phase, ...]) -> list[dict[str, str]]:
    return [{"series": series, "values": series_values(phases, kind)}
            for series, kind in slo.test_series]  # fmt: skip


def unit_tests(period: str, slos: list[Slo]) -> dict[str, Any]:
    tests = []
    for slo in slos:
        for scenario in scenarios(slo.budget * 100):
            minutes = sum(phase.minutes for phase in scenario.phases)
            # Every alert of the name at that time: the burns that fire, and no other.
            fired = [burn_alert(slo, burn, period) for burn in BURNS
                     if burn.long in scenario.fires]  # fmt: skip
            alerts = [{
                "eval_time": f"{minutes}m",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": [{"exp_labels": alert["labels"],
                                "exp_annotations": alert["annotations"]} for alert in fired],
            }]  # fmt: skip
            tests.append({
                "name": f"{slo.name}: {scenario.name}",
                "interval": f"{SAMPLE_MINUTES}m",
                "input_series": input_series(slo, scenario.phases),
                "alert_rule_test": alerts,
            })  # fmt: skip
    return {
        "rule_files": [f"../rules/{rules_file(slo)}" for slo in slos],
        "evaluation_interval": "5m",
        "tests": tests,
    }


def rules_file(slo: Slo) -> str:
    return f"slo-{slo.name}.yaml"


# --- writing -------------------------------------------------------------------------


def header(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


GENERATED = (
    "Generated by `make monitoring` (tools/monitoring.py) from services/monitoring/slo.yaml:\n"
    "edit that, not this file."
)


class Dumper(yaml.SafeDumper):
    """Multi-line strings as blocks, so a rule's expression reads as written."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _string)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=Dumper, sort_keys=False, width=100)


def development_config() -> str:
    """prometheus.yml, but for the api's port of the development override."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    (api,) = [job for job in config["scrape_configs"] if job["job_name"] == "api"]
    for discovery in api["dns_sd_configs"]:
        discovery["port"] = DEVELOPMENT_METRICS_PORT
    text = (
        "Generated by `make monitoring` (tools/monitoring.py) from prometheus.yml, for the\n"
        "development override (compose.override.yaml), whose api serves /metrics on its one\n"
        f"port, {DEVELOPMENT_METRICS_PORT}: edit prometheus.yml, not this file."
    )
    return header(text) + dump(config)


def outputs() -> dict[Path, str]:
    """A rules file and a test file per SLO: promtool evaluates every rule of the files a
    test names, so each SLO's tests evaluate its rules alone."""
    period, slos = load()
    files = {
        DASHBOARD: json.dumps(dashboard(slos), indent=2) + "\n",
        DEVELOPMENT_CONFIG: development_config(),
    }
    for slo in slos:
        files[PROMETHEUS / "rules" / rules_file(slo)] = header(GENERATED) + dump(
            rule_groups(period, [slo])
        )
        files[PROMETHEUS / "tests" / f"slo-{slo.name}.test.yaml"] = header(GENERATED) + dump(
            unit_tests(period, [slo])
        )
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run make monitoring): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
