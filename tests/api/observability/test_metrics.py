"""Prometheus metrics (api.observability.metrics) that are right across gunicorn's workers."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.mmap_dict import MmapedDict
from sqlalchemy.engine import URL

from harness.processes import RunningApi, running_api
from tests.api.conftest import WORKERS
from tests.support.metrics import kill_a_worker, requests_total, scrape


def workers_that_counted(metrics_dir: Path, route: str) -> int:
    counted = 0
    for path in metrics_dir.glob("counter_*.db"):
        values = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        if any(
            "http_requests_total" in key and route in key and value for key, value, *_ in values
        ):
            counted += 1
    return counted


def test_one_scrape_counts_every_request_of_every_worker(api_database: URL, tmp_path: Path) -> None:
    requests = 300
    with running_api(api_database, tmp_path, WEB_CONCURRENCY=str(WORKERS)) as api:
        metrics_dir = tmp_path / f"metrics-{httpx.URL(api.base_url).port}"
        # A new connection each time, so the kernel spreads them over both workers.
        no_keep_alive = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=api.base_url, limits=no_keep_alive, timeout=10) as client:
            for _ in range(requests):
                client.get("/posts/9223372036854775807")  # never a post: a 404
        samples = scrape(api)
        assert requests_total(samples, "/posts/{post_id}") == requests
        assert workers_that_counted(metrics_dir, "/posts/{post_id}") == WORKERS
        # /metrics does not count itself.
        assert requests_total(scrape(api), "/metrics") == 0
        assert samples["http_requests_in_flight[]"] == 0
        labels = {"method": "GET", "route": "/posts/{post_id}", "status": "404"}
        assert samples[f"http_request_duration_seconds_count{sorted(labels.items())}"] == requests

        # A worker killed outright: its requests stay counted, the master replaces it.
        kill_a_worker(api, WORKERS)
        assert requests_total(scrape(api), "/posts/{post_id}") == requests


def test_the_scrape_shows_the_pool_and_the_build(logged_api: RunningApi) -> None:
    httpx.get(logged_api.base_url + "/users/1", timeout=10)
    time.sleep(1.2)  # the pool gauges are sampled every second
    samples = scrape(logged_api)
    names = {key.split("[", 1)[0] for key in samples}
    assert {
        "db_pool_open_connections",
        "db_pool_checked_out_connections",
        "db_pool_overflow_connections",
        "db_pool_waits_total",
        "db_pool_timeouts_total",
        "http_requests_in_flight",
    } <= names
    assert samples["db_pool_open_connections[]"] >= 1
    build = [key for key in samples if key.startswith("api_build_info[")]
    assert len(build) == 1
    assert "('version', '" in build[0]
