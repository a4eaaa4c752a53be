"""Only the host names in PUBLIC_HOSTS reach the API (api.public_hosts): no other Host
comes back in a Link or a redirect."""

import httpx
import pytest

from api.http.public_hosts import allowed, host_name
from harness.processes import RunningApi


@pytest.mark.parametrize(
    ("host", "name"),
    [
        (b"example.com", "example.com"),
        (b"Example.COM:8000", "example.com"),
        (b"[::1]:8000", "::1"),
        (b"::1", "::1"),
        (b"", ""),
    ],
)
def test_the_name_of_a_host_header(host: bytes, name: str) -> None:
    assert host_name(host) == name


def test_patterns() -> None:
    assert allowed("localhost", ["localhost"])
    # An exact name is the whole name, not a prefix or a suffix of one.
    assert not allowed("localhost.evil", ["localhost"])
    assert not allowed("evil.localhost", ["localhost"])
    assert not allowed("localhos", ["localhost"])
    assert allowed("api.example.com", ["*.example.com"])
    assert not allowed("example.com.evil", ["*.example.com"])
    assert not allowed("evilexample.com", ["*.example.com"])
    assert allowed("anything", ["*"])
    assert not allowed("", ["localhost"])


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "", "a b", "[::2]", "localhost.evil"]
)
def test_an_unknown_host_is_a_400_that_echoes_nothing(api_server: RunningApi, host: str) -> None:
    response = httpx.get(api_server.base_url + "/posts", headers={"Host": host}, timeout=10)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("unknown host")
    assert "evil" not in response.text


def test_links_and_redirects_use_the_host_asked_for(api_server: RunningApi) -> None:
    with httpx.Client(base_url=api_server.base_url, timeout=10) as client:
        for _ in range(2):
            client.post("/users", json={"username": f"h{_}x", "email": f"h{_}x@example.com"})
        page = client.get("/users?limit=1", headers={"Host": "localhost:8000"})
        assert page.links["next"]["url"].startswith("http://localhost:8000/users?")
        redirect = client.get("/users/", headers={"Host": "localhost:8000"})
        assert redirect.status_code == 307
        assert redirect.headers["location"] == "http://localhost:8000/users"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_answer_whatever_the_host(api_server: RunningApi, path: str) -> None:
    response = httpx.get(api_server.base_url + path, headers={"Host": "10.1.2.3:8000"}, timeout=10)
    assert response.status_code == 200
