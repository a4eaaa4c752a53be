"""What the monitoring profile costs under the benchmark's load: `docker stats` of every
container, with the profile's three services stopped and running, rounds interleaved.

    uv run --frozen python -m bench.monitoring [--rounds 3] [--seconds 30]

One compose.yaml stack (the api's 10,000 users and 100,000 posts of the benchmark), wrk
driving its 90/10 read/write mix through the proxy; Markdown tables on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from bench.data import ComposeDatabase, seed
from bench.load import OURS, Result, require_wrk, run_wrk, scenarios
from harness.compose import ComposeProject

PROFILE = ("prometheus", "alertmanager", "postgres-exporter")
USERS, POSTS = 10_000, 100_000
MIB = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "kB": 1e3 / 2**20,
       "MB": 1e6 / 2**20, "GB": 1e9 / 2**20}  # fmt: skip


@dataclass
class Usage:
    """`docker stats` samples of one container during the runs of one side."""

    cpu_percent: list[float] = field(default_factory=list)
    memory_mib: list[float] = field(default_factory=list)


def mebibytes(text: str) -> float:
    number = text.rstrip("BKiGMk")
    return float(number) * MIB[text[len(number) :]]


def sample(project: str, usage: dict[str, Usage], stop: threading.Event) -> None:
    """`docker stats` of the project's containers, over and over until ``stop``."""
    while not stop.is_set():
        output = subprocess.run(
            ["docker", "stats", "--no-stream", "--format", "{{json .}}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for line in output.splitlines():
            row = json.loads(line)
            if not row["Name"].startswith(f"{project}-"):
                continue
            service = row["Name"].removeprefix(f"{project}-").rsplit("-", 1)[0]
            usage[service].cpu_percent.append(float(row["CPUPerc"].rstrip("%")))
            usage[service].memory_mib.append(mebibytes(row["MemUsage"].split(" / ")[0]))


def measured(stack: ComposeProject, seconds: float, tag: str) -> tuple[Result, dict[str, Usage]]:
    mix = next(scenario for scenario in scenarios(POSTS) if scenario.read_share)
    usage: dict[str, Usage] = defaultdict(Usage)
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(stack.project, usage, stop))
    sampler.start()
    try:
        result = run_wrk(stack.base_url, mix.paths[OURS], mix, seconds, USERS, tag)
    finally:
        stop.set()
        sampler.join()
    return result, usage


def table(sides: dict[str, list[tuple[Result, dict[str, Usage]]]]) -> str:
    without, with_ = sides["without"], sides["with"]
    services = sorted({name for _, usage in without + with_ for name in usage})
    lines = [
        "| container | CPU % without | CPU % with | memory MiB without | memory MiB with |",
        "|---|---:|---:|---:|---:|",
    ]
    totals: dict[str, list[float]] = {"cpu without": [], "cpu with": [], "mem without": [],
                                      "mem with": []}  # fmt: skip
    for service in services:
        cells = []
        for side, runs in (("without", without), ("with", with_)):
            cpu = [statistics.mean(u[service].cpu_percent) for _, u in runs if service in u]
            cells.append(f"{statistics.median(cpu):.1f}" if cpu else "-")
            totals[f"cpu {side}"].append(statistics.median(cpu) if cpu else 0.0)
        for side, runs in (("without", without), ("with", with_)):
            memory = [max(u[service].memory_mib) for _, u in runs if service in u]
            cells.append(f"{max(memory):.0f}" if memory else "-")
            totals[f"mem {side}"].append(max(memory) if memory else 0.0)
        lines.append(f"| {service} | {' | '.join(cells[:2])} | {' | '.join(cells[2:])} |")
    lines.append(
        f"| **all** | {sum(totals['cpu without']):.1f} | {sum(totals['cpu with']):.1f} "
        f"| {sum(totals['mem without']):.0f} | {sum(totals['mem with']):.0f} |"
    )
    lines += ["", "| | requests/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]
    for side, runs in (("without the profile", without), ("with the profile", with_)):
        rate = statistics.median(result.requests_per_s for result, _ in runs)
        p50 = statistics.median(result.p50_ms for result, _ in runs)
        p99 = statistics.median(result.p99_ms for result, _ in runs)
        errors = sum(result.errors for result, _ in runs)
        lines.append(f"| {side} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {errors} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    require_wrk()
    stack = ComposeProject(prefix="bench-mon")
    stack.env["COMPOSE_PROFILES"] = "monitoring"
    sides: dict[str, list[tuple[Result, dict[str, Usage]]]] = {"without": [], "with": []}
    try:
        stack("up", "--build", "--wait")
        seed(ComposeDatabase(stack), USERS, POSTS)
        time.sleep(30)  # Prometheus's first scrapes and rule evaluations
        for round_number in range(args.rounds):
            for side in ("with", "without") if round_number % 2 == 0 else ("without", "with"):
                if side == "with":
                    stack("start", *PROFILE)
                    time.sleep(20)  # its targets scraped again before the run
                else:
                    stack("stop", *PROFILE)
                result, usage = measured(stack, args.seconds, f"m{round_number}{side}")
                sides[side].append((result, usage))
                print(f"round {round_number + 1} {side:7s} {result.requests_per_s:,.0f} req/s",
                      flush=True)  # fmt: skip
        print(table(sides))
    finally:
        stack.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
