"""The health endpoints (api.health.routes) as probes use them, GET and HEAD, and /metrics
(api.observability.routes), on its own port."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.processes import RunningApi, service_env

# The route tests' contract (tests/api/conftest.py): no ERROR in the database's log.
pytestmark = pytest.mark.usefixtures("no_database_errors")


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_answers_as_get_does_without_a_body(client: httpx.Client, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert (got.status_code, head.status_code) == (200, 200)
    assert got.json() == {"status": "ok"}
    assert head.content == b""


def test_metrics_answer_on_their_own_port_alone(api_server: RunningApi) -> None:
    assert httpx.get(api_server.base_url + "/metrics", timeout=10).status_code == 404
    scrape = httpx.get(api_server.metrics_url, timeout=10)
    assert scrape.status_code == 200
    assert "http_requests_total" in scrape.text


def test_a_draining_api_is_not_ready_and_serves_on(api_server: RunningApi, log_dir: Path) -> None:
    drain = Path(api_server.log_path.parent) / f"draining-{httpx.URL(api_server.base_url).port}"
    drain.touch()
    try:
        response = httpx.get(api_server.base_url + "/readyz", timeout=10)
        assert response.status_code == 503
        assert response.json()["detail"].startswith("draining")
        assert response.headers["retry-after"]
        assert httpx.get(api_server.base_url + "/posts", timeout=10).status_code == 200
    finally:
        drain.unlink()
    assert httpx.get(api_server.base_url + "/readyz", timeout=10).status_code == 200


def test_api_drain_marks_this_api_draining(tmp_path: Path) -> None:
    drain = tmp_path / "draining"
    env = service_env(None, DRAIN_FILE=str(drain))
    subprocess.run([sys.executable, "-m", "api.drain"], env=env, check=True)
    assert drain.exists()
