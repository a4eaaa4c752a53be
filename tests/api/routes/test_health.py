"""The health endpoints (api.routes.health), as probes use them: GET and HEAD."""

import httpx
import pytest


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_answers_as_get_does_without_a_body(client: httpx.Client, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert (got.status_code, head.status_code) == (200, 200)
    assert got.json() == {"status": "ok"}
    assert head.content == b""
