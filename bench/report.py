"""The report: medians over rounds, the Markdown tables (speed, then CPU by part) and
bench/results/latest.json."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.apps import API, DB, PROXY, RUNTIME, TUTORIAL_PART, WORKERS, App, Bench
from bench.load import NO_DATABASE, OURS, TUTORIAL, Result

RESULTS = Path(__file__).resolve().parent / "results"
# The part that is each app's own process tree (its container, in compose mode).
OWN_PART = {OURS: API, TUTORIAL: TUTORIAL_PART}


@dataclass
class Outcome:
    """What a whole bench run found, beside each app's per-scenario results."""

    bench: Bench
    users: int
    posts: int
    rounds: int
    seconds: float
    pgbench_tps: dict[str, float]
    peak_rss_mb: dict[str, float]
    lost_writes: dict[str, int]
    idle_cpu_s_per_s: dict[str, float]  # each part's CPU while nothing was driven


def errors(result: Result) -> str:
    """The count, and how many of it were socket errors rather than non-2xx answers."""
    if result.socket_errors:
        return f"{result.errors} ({result.socket_errors} socket)"
    return str(result.errors)


def median_result(results: list[Result]) -> Result:
    return Result(
        requests_per_s=statistics.median(r.requests_per_s for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
        socket_errors=sum(r.socket_errors for r in results),
    )


def cpu_per_thousand(
    results: list[Result], idle_per_s: dict[str, float] | None = None
) -> dict[str, float] | None:
    """CPU seconds per 1,000 requests, by part: the median over the runs that did any.
    With ``idle_per_s``, what each part spends idle over the run's duration is taken off
    first: what the requests themselves cost."""
    done = [r for r in results if r.requests]
    if not done:
        return None
    idle = idle_per_s or {}

    def per_thousand(result: Result, part: str) -> float:
        driven = result.cpu_s[part] - idle.get(part, 0.0) * result.wall_s
        return driven / result.requests * 1000

    return {part: statistics.median(per_thousand(r, part) for r in done) for part in done[0].cpu_s}


def rate(result: Result) -> str:
    if not result.requests:
        return "none done"
    per_s = result.requests_per_s
    return f"{per_s:,.0f}" if per_s >= 10 else f"{per_s:.2f}"


def latency(result: Result) -> str:
    return f"{result.p50_ms:,.1f} / {result.p99_ms:,.1f}" if result.requests else "-"


def share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "n/a"


def seconds_cell(value: float) -> str:
    return f"{value:,.3f}"


def describe_machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, {python}"


def speed_table(
    ours: App, tutorial: App, idle_per_s: dict[str, float]
) -> tuple[list[str], list[dict[str, Any]]]:
    lines = [
        "| scenario | ours req/s | tutorial req/s | ours/tutorial | ours p50 / p99 ms"
        " | tutorial p50 / p99 ms | errors ours / tutorial |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows: list[dict[str, Any]] = []
    for name in ours.results:
        a, b = median_result(ours.results[name]), median_result(tutorial.results[name])
        ratio = a.requests_per_s / b.requests_per_s if b.requests else None
        rows.append(
            {
                "scenario": name,
                OURS: asdict(a),
                TUTORIAL: asdict(b),
                "ratio": ratio,
                "cpu_s_per_1000": {
                    OURS: cpu_per_thousand(ours.results[name]),
                    TUTORIAL: cpu_per_thousand(tutorial.results[name]),
                },
                "cpu_s_per_1000_above_idle": {
                    OURS: cpu_per_thousand(ours.results[name], idle_per_s),
                    TUTORIAL: cpu_per_thousand(tutorial.results[name], idle_per_s),
                },
            }
        )
        lines.append(
            f"| {name} | {rate(a)} | {rate(b)} | {f'{ratio:,.1f}x' if ratio else 'n/a'}"
            f" | {latency(a)} | {latency(b)} | {errors(a)} / {errors(b)} |"
        )
    return lines, rows


def cpu_table(apps: list[App], parts: list[str], idle_per_s: dict[str, float]) -> list[str]:
    """Per scenario and app driven, CPU seconds per 1,000 requests by part, the runtime's
    share of the total, the runtime's figure without its idle floor, and the driven app's
    own CPU per request in microseconds."""
    shown = [part for part in (API, PROXY, DB, RUNTIME, TUTORIAL_PART) if part in parts]
    extra = ["runtime share", "runtime above idle"] if RUNTIME in shown else []
    columns = [*shown, "all", *extra, "own us/request"]
    lines = [
        f"| scenario | driven | {' | '.join(columns)} |",
        f"|---|---|{'---:|' * len(columns)}",
    ]
    for name in apps[0].results:
        for app in apps:
            per_thousand = cpu_per_thousand(app.results[name])
            above_idle = cpu_per_thousand(app.results[name], idle_per_s)
            if per_thousand is None or above_idle is None:
                lines.append(f"| {name} | {app.name} | {' | '.join('-' for _ in columns)} |")
                continue
            total = sum(per_thousand[part] for part in shown)
            cells = [seconds_cell(per_thousand[part]) for part in shown] + [seconds_cell(total)]
            if extra:
                cells += [share(per_thousand[RUNTIME], total), seconds_cell(above_idle[RUNTIME])]
            own_us = per_thousand[OWN_PART[app.name]] * 1000  # s per 1,000 -> us per 1
            cells.append(f"{own_us:,.0f}")
            lines.append(f"| {name} | {app.name} | {' | '.join(cells)} |")
    return lines


def summary_lines(outcome: Outcome) -> list[str]:
    ours, tutorial = outcome.bench.apps
    ceiling = outcome.pgbench_tps
    single = median_result(ours.results["GET /users/{id}"]).requests_per_s
    created = median_result(ours.results["POST /users/{id}/posts"]).requests_per_s
    bare = {app.name: median_result(app.results[NO_DATABASE.name]) for app in (ours, tutorial)}
    setup = ", ".join(f"{name} {value:.1f}" for name, value in outcome.bench.setup_s.items())
    return [
        f"pgbench ceiling (16 connections, prepared): SELECT by id {ceiling['select']:,.0f} tps"
        f" (ours {share(single, ceiling['select'])} of it); INSERT post"
        f" {ceiling['insert']:,.0f} tps (ours {share(created, ceiling['insert'])} of it)",
        f"no-database ceiling: ours GET /healthz {rate(bare[OURS])} req/s (GET /users/{{id}} is"
        f" {share(single, bare[OURS].requests_per_s)} of it), tutorial GET /"
        f" {rate(bare[TUTORIAL])} req/s",
        f"peak RSS: ours {outcome.peak_rss_mb[OURS]:.0f} MB (master + workers),"
        f" tutorial {outcome.peak_rss_mb[TUTORIAL]:.0f} MB",
        f"lost writes (a 2xx without its row): ours {outcome.lost_writes[OURS]},"
        f" tutorial {outcome.lost_writes[TUTORIAL]}",
        f"setup (s): {setup}",
        "idle (nothing driven), CPU ms per second: "
        + ", ".join(
            f"{part} {value * 1000:.0f}" for part, value in outcome.idle_cpu_s_per_s.items()
        ),
        *runtime_composition(outcome.bench.apps),
        *workers_line(ours),
        *proxy_line(ours),
    ]


def per_request_line(ours: App, part: str, what: str) -> list[str]:
    """One part's CPU per request of ours, scenario by scenario, in microseconds."""
    cells = []
    for scenario, results in ours.results.items():
        per_thousand = cpu_per_thousand(results)
        if per_thousand and part in per_thousand:
            cells.append(f"{scenario} {per_thousand[part] * 1000:,.0f}")
    if not cells:
        return []
    return [f"{what}, us per request: " + ", ".join(cells)]


def workers_line(ours: App) -> list[str]:
    """Our gunicorn workers' own CPU per request, scenario by scenario (the api part
    also counts the master, the health checks and socket work charged to the container)."""
    return per_request_line(ours, WORKERS, "our workers' own CPU")


def proxy_line(ours: App) -> list[str]:
    """What the front door costs: the proxy container's CPU per request of ours."""
    return per_request_line(ours, PROXY, "the proxy's CPU (the front door)")


def runtime_composition(apps: list[App]) -> list[str]:
    """Where the runtime's CPU went over every run, by kind of process."""
    spent: dict[str, float] = {}
    for app in apps:
        for results in app.results.values():
            for result in results:
                for part, seconds in result.cpu_s.items():
                    if part.startswith(f"{RUNTIME}/"):
                        kind = part.removeprefix(f"{RUNTIME}/")
                        spent[kind] = spent.get(kind, 0.0) + seconds
    total = sum(spent.values())
    if not total:
        return []
    shares = sorted(spent.items(), key=lambda item: -item[1])
    return [
        f"runtime CPU over all runs: {total:.1f} s, "
        + ", ".join(f"{kind} {seconds / total:.0%}" for kind, seconds in shares)
    ]


def write_report(outcome: Outcome) -> str:
    """Prints the tables, writes bench/results/latest.json; returns the Markdown."""
    bench = outcome.bench
    ours, tutorial = bench.apps
    machine = describe_machine()
    speed, rows = speed_table(ours, tutorial, outcome.idle_cpu_s_per_s)
    parts = [part for part in bench.cpu.clocks if "/" not in part]
    lines = [
        f"{bench.mode} mode; {outcome.users:,} users, {outcome.posts:,} posts; median of"
        f" {outcome.rounds} round(s) of {outcome.seconds:g}s; {machine}; {bench.platform}",
        "",
        *speed,
        "",
        "CPU seconds per 1,000 requests, by part (median of the rounds):",
        "",
        *cpu_table(bench.apps, parts, outcome.idle_cpu_s_per_s),
        "",
        *summary_lines(outcome),
    ]
    table = "\n".join(lines)
    print("\n" + table)
    RESULTS.mkdir(exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": bench.mode,
        "machine": machine,
        "platform": bench.platform,
        "users": outcome.users,
        "posts": outcome.posts,
        "rounds": outcome.rounds,
        "seconds": outcome.seconds,
        "cpu_parts": parts,
        "scenarios": rows,
        "pgbench_tps": outcome.pgbench_tps,
        "no_database_req_per_s": {
            app.name: median_result(app.results[NO_DATABASE.name]).requests_per_s
            for app in bench.apps
        },
        "peak_rss_mb": outcome.peak_rss_mb,
        "lost_writes": outcome.lost_writes,
        "setup_s": bench.setup_s,
        "idle_cpu_s_per_s": outcome.idle_cpu_s_per_s,
        "table_markdown": table,
    }
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=2))
    print(f"\nwrote {RESULTS / 'latest.json'}")
    return table
