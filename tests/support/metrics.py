"""Reading a running API's metrics, and its gunicorn's workers."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.processes import RunningApi


def scrape(api: RunningApi) -> dict[str, float]:
    """Every sample of one scrape, by name and labels."""
    text = httpx.get(api.metrics_url, timeout=10).text
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_total(samples: dict[str, float], route: str) -> float:
    return sum(
        value
        for key, value in samples.items()
        if key.startswith("http_requests_total[") and f"('route', '{route}')" in key
    )


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def kill_a_worker(api: RunningApi, workers: int) -> None:
    """SIGKILL one of gunicorn's workers; return once the master has reaped it (its
    child_exit hook runs then; a zombie is still listed as a child) and exactly
    ``workers`` run again."""
    killed = child_pids(api.process.pid)[0]
    os.kill(killed, signal.SIGKILL)
    give_up_at = time.monotonic() + 20
    while killed in (children := child_pids(api.process.pid)) or len(children) != workers:
        assert time.monotonic() < give_up_at, api.log()
        time.sleep(0.1)
