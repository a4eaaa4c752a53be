"""Per request (api.observability.middleware): an id, one access line by route template
(every failure and slow request, a sample of the rest), the id on every line written
meanwhile."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from api.http.docs import ASSETS_URL
from api.observability.middleware import AccessLogPolicy
from harness.databases import connect
from harness.processes import RunningApi, running_api
from tests.api.factories import create_user
from tests.support.logs import log_lines
from tests.support.metrics import scrape


def access_lines(api: RunningApi, request_id: str) -> list[dict[str, object]]:
    return [
        line
        for line in log_lines(api.log())
        if line["logger"] == "api.access" and line["request_id"] == request_id
    ]


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


def test_methods_the_api_does_not_serve_share_one_label(logged_api: RunningApi) -> None:
    """A client inventing methods cannot grow the metrics: one label for all of them."""
    with httpx.Client(base_url=logged_api.base_url, timeout=10) as client:
        for method in ("PROPFIND", "PURGE", "MKCOL", "LOCK", "REPORT", "SEARCH"):
            client.request(method, "/users")
    methods = {
        key.split("('method', '", 1)[1].split("'", 1)[0]
        for key in scrape(logged_api)
        if key.startswith("http_requests_total[")
    }
    assert methods <= {"GET", "HEAD", "POST", "PATCH", "DELETE", "other"}, methods
    assert "other" in methods


def test_a_body_refused_for_its_size_is_logged_and_counted_under_its_route(
    logged_api: RunningApi,
) -> None:
    too_large = b"{" + b" " * (1024 * 1024) + b"}"
    response = httpx.post(
        logged_api.base_url + "/users",
        content=too_large,
        headers={"content-type": "application/json", "X-Request-ID": "too-large-1"},
        timeout=30,
    )
    assert response.status_code == 413
    time.sleep(0.2)
    (line,) = access_lines(logged_api, "too-large-1")
    assert line["route"] == "/users"
    counted = [k for k in scrape(logged_api) if k.startswith("http_requests_total[")]
    assert any("('route', '/users')" in k and "('status', '413')" in k for k in counted), counted


def test_the_policy_keeps_every_failure_and_slow_request_and_samples_the_rest() -> None:
    policy = AccessLogPolicy(sample=0.25, slow_seconds=0.5)
    assert policy.wants("/users", 404, 0.001)
    assert policy.wants("/users", 503, 0.001)
    assert policy.wants("/users", 200, 0.5)
    assert policy.wants("/readyz", 503, 0.001)
    assert not policy.wants("/readyz", 200, 0.001)
    random.seed(7)
    kept = sum(policy.wants("/users", 200, 0.001) for _ in range(4000))
    assert 850 < kept < 1150, kept  # a quarter, give or take
    assert not any(AccessLogPolicy(enabled=False).wants("/users", 500, 9.0) for _ in range(10))
    assert all(AccessLogPolicy().wants("/users", 200, 0.001) for _ in range(100))


def test_sampled_out_successes_leave_no_line_and_the_rest_do(
    api_database: URL, tmp_path: Path
) -> None:
    """ACCESS_LOG_SAMPLE=0: no fast success is logged; a 404 is, and so is a success
    slower than ACCESS_LOG_SLOW_MS (a read held by a lock on its table)."""
    settings = {"ACCESS_LOG_SAMPLE": "0", "ACCESS_LOG_SLOW_MS": "300"}
    with (
        running_api(
            api_database, tmp_path, LOG_FORMAT="json", ACCESS_LOG="true", **settings
        ) as api,
        httpx.Client(base_url=api.base_url, timeout=15) as client,
    ):
        user = create_user(client)
        for number in range(20):
            client.get(f"/users/{user['id']}", headers={"X-Request-ID": f"fast-{number}"})
        client.get("/users/999999999", headers={"X-Request-ID": "missing-1"})
        with connect(api_database) as locker:
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            release = threading.Timer(0.6, locker.execute, args=("ROLLBACK",))
            release.start()
            slow = client.get(f"/users/{user['id']}", headers={"X-Request-ID": "slow-ok"})
            release.join()
        time.sleep(0.2)
        assert slow.status_code == 200
        assert not any(access_lines(api, f"fast-{number}") for number in range(20))
        (missing,) = access_lines(api, "missing-1")
        assert missing["status"] == 404
        (held,) = access_lines(api, "slow-ok")
        assert held["status"] == 200
        assert held["duration_ms"] >= 300  # type: ignore[operator]
