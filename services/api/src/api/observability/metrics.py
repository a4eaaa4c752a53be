"""Prometheus metrics, correct across gunicorn's workers.

Under gunicorn (api.gunicorn_conf sets PROMETHEUS_MULTIPROC_DIR before the app is
imported) each worker writes its values to files in that directory and a scrape of
any worker sums them all: prometheus_client's multiprocess mode. Run alone (the
development server), the process's own registry is served.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ

LABELS = ("method", "route", "status")
REQUESTS = Counter("http_requests_total", "HTTP requests answered.", LABELS)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival to the end of its response.",
    LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge(
    "http_requests_in_flight", "Requests being served now.", multiprocess_mode="livesum"
)

POOL_OPEN = Gauge(
    "db_pool_open_connections", "Connections the pools hold open.", multiprocess_mode="livesum"
)
POOL_CHECKED_OUT = Gauge(
    "db_pool_checked_out_connections",
    "Connections serving a request now.",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "db_pool_overflow_connections",
    "Connections open beyond DB_POOL_SIZE (up to DB_POOL_MAX_OVERFLOW).",
    multiprocess_mode="livesum",
)
POOL_WAITS = Counter(
    "db_pool_waits_total", "Requests that waited more than a millisecond for a connection."
)
POOL_WAIT_SECONDS = Counter(
    "db_pool_wait_seconds_total", "Time requests spent waiting for a connection."
)
POOL_TIMEOUTS = Counter(
    "db_pool_timeouts_total",
    "Requests that got no connection (DB_POOL_TIMEOUT passed, or connecting failed).",
)

# Counted by gunicorn's master (api.gunicorn_conf's child_exit), which outlives its
# workers: a worker killed, timed out or crashed, each replaced (the ApiWorkersRestarting
# alert); the workers of a stopping server are counted too, as the container goes.
WORKER_EXITS = Counter("api_worker_exits_total", "gunicorn workers that exited.")

BUILD_INFO = Gauge(
    "api_build_info",
    "The running build: always 1, with its version and git revision as labels.",
    ["version", "revision"],
    multiprocess_mode="max",
)


def record_build(revision: str) -> None:
    BUILD_INFO.labels(version=version("api"), revision=revision).set(1)


def sized(paths: Iterable[str]) -> list[str]:
    """The metrics files that have their header: a starting worker creates its file, then
    sizes it, and prometheus_client reads a file of 0 bytes as corrupt, failing the
    whole scrape (prometheus/client_python#1199). Such a file has nothing counted yet."""
    kept = []
    for path in paths:
        with contextlib.suppress(FileNotFoundError):  # a dead worker's, archived meanwhile
            if Path(path).stat().st_size > 0:
                kept.append(path)
    return kept


class WorkersCollector(multiprocess.MultiProcessCollector):
    """Every worker's files summed, as prometheus_client does, without the files that
    are not yet written (``sized``)."""

    def collect(self) -> Iterable[Metric]:
        files = sized(str(path) for path in Path(self._path).glob("*.db"))
        metrics: Iterable[Metric] = self.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return metrics


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        WorkersCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
