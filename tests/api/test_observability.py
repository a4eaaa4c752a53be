"""What operators see: JSON log lines correlated by request id, and Prometheus metrics
that are right across gunicorn's workers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL

from api.docs import ASSETS_URL
from api.main import create_app
from api.settings import ApiDatabaseSettings, ApiSettings
from api.telemetry import Telemetry
from tests.api.factories import create_user
from tests.support.databases import connect
from tests.support.logs import log_lines
from tests.support.processes import RunningApi, running_api

WORKERS = 2


@pytest.fixture(scope="module")
def logged_api(api_database: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    """The API as compose runs it: JSON lines, access log on, two workers."""
    logs = tmp_path_factory.mktemp("observed")
    with running_api(
        api_database, logs, LOG_FORMAT="json", ACCESS_LOG="true", WEB_CONCURRENCY=str(WORKERS)
    ) as api:
        yield api


def access_lines(api: RunningApi, request_id: str) -> list[dict[str, object]]:
    return [
        line
        for line in log_lines(api.log())
        if line["logger"] == "api.access" and line["request_id"] == request_id
    ]


def test_every_line_of_every_process_is_a_json_object(logged_api: RunningApi) -> None:
    httpx.get(logged_api.base_url + "/users/1", timeout=10)
    time.sleep(0.2)  # the worker writes the access line after the response
    lines = log_lines(logged_api.log())  # fails on any line that is not JSON
    services = {line["service"] for line in lines}
    loggers = {line["logger"] for line in lines}
    assert services == {"api"}
    # gunicorn's master and workers, uvicorn inside them, and the app.
    assert {"gunicorn.error", "uvicorn.error", "api.access"} <= loggers
    assert all({"time", "level", "message"} <= set(line) for line in lines)


def test_one_access_line_per_request_with_the_route_template(logged_api: RunningApi) -> None:
    with httpx.Client(base_url=logged_api.base_url, timeout=10) as client:
        user = create_user(client)
        response = client.get(f"/users/{user['id']}", headers={"X-Request-ID": "trace-me-42"})
    assert response.headers["x-request-id"] == "trace-me-42"
    time.sleep(0.2)  # the worker writes the line after the response
    (line,) = access_lines(logged_api, "trace-me-42")
    assert line["route"] == "/users/{user_id}"
    assert str(user["id"]) not in str(line["route"])
    assert (line["method"], line["status"]) == ("GET", 200)
    assert isinstance(line["duration_ms"], float)
    assert 0 < line["duration_ms"] < 5000
    assert line["client"] == "127.0.0.1"


@pytest.mark.parametrize("sent", ["", "x" * 129, "has space", "semi;colon", "é"])
def test_an_insane_request_id_is_replaced_by_a_new_one(logged_api: RunningApi, sent: str) -> None:
    headers = {b"X-Request-ID": sent.encode("utf-8")} if sent else {}
    response = httpx.get(logged_api.base_url + "/users/1", headers=headers, timeout=10)
    given = response.headers["x-request-id"]
    assert given != sent
    assert len(given) == 32
    assert int(given, 16) >= 0  # a fresh uuid4, hex


def test_every_line_written_during_a_request_carries_its_id(
    api_database: URL, tmp_path: Path
) -> None:
    with (
        running_api(api_database, tmp_path, LOG_FORMAT="json", DB_STATEMENT_TIMEOUT="0.5") as api,
        httpx.Client(base_url=api.base_url, timeout=15) as client,
    ):
        user = create_user(client)
        with connect(api_database) as locker:
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            response = client.get(f"/users/{user['id']}", headers={"X-Request-ID": "slow-1"})
            locker.execute("ROLLBACK")
        assert response.status_code == 503
        time.sleep(0.2)
        during = [line for line in log_lines(api.log()) if line.get("request_id") == "slow-1"]
    # The app's warning about the cancelled statement carries the id the client sent.
    warning = next(line for line in during if line["logger"] == "api")
    assert warning["level"] == "WARNING"
    assert "did not answer in time" in str(warning["message"])


def test_an_unhandled_error_is_logged_once_with_its_traceback_and_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: FastAPI = create_app(
        ApiDatabaseSettings(database_url="postgresql://nobody@127.0.0.1:9/none"), ApiSettings()
    )

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    served = Telemetry(app, access_log_enabled=False)

    async def call() -> httpx.Response:
        # raise_app_exceptions: an exception that escaped would be logged by the server too.
        transport = httpx.ASGITransport(app=served, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/bug", headers={"X-Request-ID": "bug-7"})

    with caplog.at_level(logging.ERROR):
        response = asyncio.run(call())
    assert response.json() == {"detail": "Internal Server Error", "request_id": "bug-7"}
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "a bug" in str(record.exc_info[1])
    assert getattr(record, "request_id", None) in ("bug-7", None)  # set by the handler's filter


def scrape(api: RunningApi) -> dict[str, float]:
    """Every sample of one scrape, by name and labels."""
    text = httpx.get(api.base_url + "/metrics", timeout=10).text
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
        for _ in range(requests):
            # A new connection each time, so the kernel spreads them over both workers.
            httpx.get(api.base_url + "/posts/1", headers={"Connection": "close"}, timeout=10)
        samples = scrape(api)
        assert requests_total(samples, "/posts/{post_id}") == requests
        assert workers_that_counted(metrics_dir, "/posts/{post_id}") == WORKERS
        # /metrics does not count itself.
        assert requests_total(scrape(api), "/metrics") == 0
        assert samples["http_requests_in_flight[]"] == 0
        labels = {"method": "GET", "route": "/posts/{post_id}", "status": "404"}
        assert samples[f"http_request_duration_seconds_count{sorted(labels.items())}"] == requests

        # A worker killed outright: its requests stay counted, the master replaces it.
        os.kill(child_pids(api.process.pid)[0], signal.SIGKILL)
        time.sleep(2)
        assert requests_total(scrape(api), "/posts/{post_id}") == requests
        assert len(child_pids(api.process.pid)) == WORKERS


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


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


def test_plain_routes_are_named_by_their_template_too(logged_api: RunningApi) -> None:
    """FastAPI records only its API routes in the scope; the document, the docs pages and
    their assets were all "unmatched" in the access log and the metrics."""
    paths = {"/openapi.json": "/openapi.json", "/docs": "/docs", "/redoc": "/redoc"}
    paths[f"{ASSETS_URL}/swagger-ui.css"] = ASSETS_URL + "/{path}"
    paths["/no-such-page"] = "unmatched"
    with httpx.Client(base_url=logged_api.base_url, timeout=10) as client:
        for number, path in enumerate(paths):
            client.get(path, headers={"X-Request-ID": f"plain-route-{number}"})
    time.sleep(0.2)  # the worker writes the line after the response
    for number, (path, route) in enumerate(paths.items()):
        (line,) = access_lines(logged_api, f"plain-route-{number}")
        assert line["route"] == route, path
