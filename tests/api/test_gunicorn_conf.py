"""The server as operators meet it: bad configuration stops it at once, SIGTERM drains it."""

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from api.observability.dead_workers import archive_dead_worker
from harness.processes import RunningApi, gunicorn_command, running_api, service_env
from tests.api.factories import user_body
from tests.support.logs import log_lines
from tests.support.metrics import kill_a_worker, requests_total, scrape


def start_gunicorn(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gunicorn_command(),
        env=service_env(None, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_invalid_configuration_stops_the_server_naming_the_variable() -> None:
    result = start_gunicorn(API_DB_PASSWORD="not-in-the-message", DB_POOL_SIZE="lots")
    assert result.returncode != 0
    assert "api: invalid configuration: DB_POOL_SIZE" in result.stderr
    assert "not-in-the-message" not in result.stderr + result.stdout


def test_missing_database_settings_stop_the_server() -> None:
    result = start_gunicorn()
    assert result.returncode != 0
    assert "set API_DB_PASSWORD or API_DB_PASSWORD_FILE" in result.stderr


def test_sigterm_shuts_down_gracefully(migrated_database: URL, log_dir: Path) -> None:
    with running_api(migrated_database, log_dir) as api:
        assert httpx.get(api.base_url + "/readyz", timeout=10).status_code == 200
        api.process.send_signal(signal.SIGTERM)
        assert api.process.wait(timeout=30) == 0
        log = api.log()
    # Each worker ran the app's shutdown (its connection pool closed) before the master left.
    assert log.count("Application shutdown complete") == 2
    assert "Shutting down: Master" in log


def test_the_settings_load_and_logging_is_configured_once(
    migrated_database: URL, log_dir: Path
) -> None:
    """The master loads the settings and configures logging once, before it forks: the
    workers inherit both, and the app (built once, preloaded) configures nothing."""
    with running_api(migrated_database, log_dir, LOG_LEVEL="debug", LOG_FORMAT="json") as api:
        assert httpx.get(api.base_url + "/readyz", timeout=10).status_code == 200
        lines = log_lines(api.log())
    configured = [line for line in lines if line["message"] == "logging configured"]
    assert [line["pid"] for line in configured] == [api.process.pid]
    booted = {
        line["message"].rsplit(" ", 1)[-1] for line in lines if "Booting worker" in line["message"]
    }
    assert len(booted) == 2  # two workers, neither of which configured anything


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


def test_a_dead_workers_gauges_leave_the_sums(migrated_database: URL, log_dir: Path) -> None:
    with running_api(
        migrated_database, log_dir, WEB_CONCURRENCY="2", DB_POOL_SIZE="3", DB_POOL_MAX_OVERFLOW="0"
    ) as api:
        time.sleep(1.5)  # each worker samples its pool's gauges every second
        assert scrape(api)["db_pool_open_connections[]"] == 6
        kill_a_worker(api, workers=2)
        time.sleep(2.5)  # its pool opens and is sampled
        samples = scrape(api)
        assert samples["db_pool_open_connections[]"] == 6
        # What the ApiWorkersRestarting alert counts: the master's, so it outlives workers.
        assert samples["api_worker_exits_total[]"] == 1


def test_a_new_server_counts_from_zero(migrated_database: URL, log_dir: Path) -> None:
    """The workers' metrics directory is emptied at start: an earlier run's counters
    (a restarted container keeps its tmpfs) are not summed in."""
    metrics_dir = str(log_dir / "metrics")
    for run in range(2):
        with running_api(migrated_database, log_dir, METRICS_DIR=metrics_dir) as api:
            assert requests_total(scrape(api), "/posts/{post_id}") == 0, f"run {run + 1}"
            for _ in range(5):
                httpx.get(api.base_url + "/posts/1", timeout=10)
            assert requests_total(scrape(api), "/posts/{post_id}") == 5


def test_dead_workers_leave_no_files_behind_and_their_counts_stay(
    migrated_database: URL, log_dir: Path
) -> None:
    metrics_dir = log_dir / "metrics"
    with running_api(migrated_database, log_dir, METRICS_DIR=str(metrics_dir)) as api:
        for _ in range(20):
            httpx.get(api.base_url + "/posts/1", headers={"Connection": "close"}, timeout=10)
        # A request is counted once its answer is sent: the client may read the last one
        # before its worker counts it, and a worker killed then would take the count along.
        give_up_at = time.monotonic() + 10
        while requests_total(scrape(api), "/posts/{post_id}") < 20:
            assert time.monotonic() < give_up_at, scrape(api)
            time.sleep(0.1)
        files_at_start = len(list(metrics_dir.glob("*.db")))
        for _ in range(3):
            kill_a_worker(api, workers=2)
            time.sleep(1.5)  # the replacement opens its pool and samples its gauges
        files = sorted(path.name for path in metrics_dir.glob("*.db"))
        # The live workers' files, one archive each for counters and histograms, and the
        # master's counter file (its worker exits).
        assert len(files) <= files_at_start + 3, files
        assert requests_total(scrape(api), "/posts/{post_id}") == 20
        assert scrape(api)["api_worker_exits_total[]"] == 3


def test_a_worker_file_not_yet_written_fails_neither_a_scrape_nor_its_archive(
    migrated_database: URL, log_dir: Path
) -> None:
    """A starting worker creates its metrics file, then sizes it: a scrape in between (or
    the worker killed in between) meets a file of 0 bytes, which prometheus_client reads
    as corrupt (prometheus/client_python#1199): every scrape got a 500 while it lasted."""
    metrics_dir = log_dir / "metrics"
    with running_api(migrated_database, log_dir, METRICS_DIR=str(metrics_dir)) as api:
        for _ in range(3):
            httpx.get(api.base_url + "/posts/1", timeout=10)
        (metrics_dir / "counter_4194303.db").touch()  # a pid no live worker has
        (metrics_dir / "histogram_4194303.db").touch()
        assert requests_total(scrape(api), "/posts/{post_id}") == 3
        archive_dead_worker(metrics_dir, 4194303)  # as the master does when it exits
        assert not list(metrics_dir.glob("*_4194303.db"))
        assert requests_total(scrape(api), "/posts/{post_id}") == 3


@pytest.mark.parametrize(
    ("proxy", "trusted"),
    # Addresses and networks too: tests/api/http/test_forwarded.py.
    [("localhost", True), ("192.0.2.1", False)],
)
def test_forwarded_headers_are_believed_from_the_proxy_alone(
    migrated_database: URL, log_dir: Path, proxy: str, trusted: bool
) -> None:
    """The proxy's X-Forwarded-Proto sets the scheme of the Link the API writes, and its
    X-Forwarded-For the client in the access line; from anyone else, neither. The proxy
    may be named (compose's TRUSTED_PROXIES is its service name)."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with (
        running_api(
            migrated_database, log_dir, TRUSTED_PROXIES=proxy, ACCESS_LOG="true",
            LOG_FORMAT="json",
        ) as api,
        httpx.Client(base_url=api.base_url, timeout=10) as client,
    ):  # fmt: skip
        for n in range(2):
            client.post("/users", json=user_body(username=f"fw{n}", email=f"fw{n}@example.com"))
        page = client.get("/users?limit=1", headers={**forwarded, "X-Request-ID": "fwd-1"})
        time.sleep(0.2)
        (line,) = [x for x in log_lines(api.log()) if x.get("request_id") == "fwd-1"]
    scheme = "https" if trusted else "http"
    assert page.links["next"]["url"].startswith(f"{scheme}://127.0.0.1:")
    assert line["client"] == ("203.0.113.9" if trusted else "127.0.0.1")
