"""Reading a running API's metrics, and its gunicorn's workers."""

from __future__ import annotations

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
