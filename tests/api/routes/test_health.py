"""The health endpoints (api.routes.health) as probes use them, GET and HEAD, and /metrics
(api.routes.metrics), on its own port."""

import httpx
import pytest

from harness.processes import RunningApi


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
