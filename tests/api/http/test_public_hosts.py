"""Only the host names in PUBLIC_HOSTS reach the API (api.public_hosts): no other Host
comes back in a Link or a redirect."""

import httpx
import pytest

from api.http.public_hosts import allowed, host_name
from harness.processes import RunningApi
from tests.api.factories import user_body


@pytest.mark.parametrize(
    ("host", "name"),
    [
        (b"example.com", "example.com"),
        (b"Example.COM:8000", "example.com"),
        (b"[::1]:8000", "::1"),
        (b"[0:0::1]", "::1"),
        (b"localhost.:80", "localhost"),
        (b"10.1.2.3:8000", "10.1.2.3"),
        # Not a host and a port: each once passed, and Starlette then wrote its URLs from
        # another host (the user info's, or the container's own address).
        (b"::1", None),
        (b"", None),
        (b"localhost:@evil.com", None),
        (b"localhost:evil.com", None),
        (b"[::1]evil.com", None),
        (b"localhost:99999999", None),
        (b"localhost:65536", None),
        (b"user@localhost", None),
        (b"localhost/evil", None),
        (b"local host", None),
        (b"[::g]", None),
        (b"a" * 254, None),
    ],
)
def test_the_name_of_a_host_header(host: bytes, name: str | None) -> None:
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


HOSTILE_HOSTS = [
    "evil.example",
    "evil.example:8000",
    "",
    "a b",
    "[::2]",
    "localhost.evil",
    "localhost:@evil.com",
    "localhost:evil.com",
    "[::1]evil.com",
    "localhost:99999999",
]


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
@pytest.mark.parametrize("path", ["/posts", "/users?limit=1", "/users/"])
def test_another_host_is_a_400_that_shows_no_host(
    api_server: RunningApi, host: str, path: str
) -> None:
    """No Link, no redirect: neither the host asked for nor the server's own address."""
    response = httpx.get(api_server.base_url + path, headers={"Host": host}, timeout=10)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(("unknown host", "invalid Host header"))
    shown = response.text + "".join(f"{k}: {v}" for k, v in response.headers.items())
    for leak in ("evil", "127.0.0.1", "localhost"):
        assert leak not in shown


def test_links_and_redirects_use_the_host_asked_for(api_server: RunningApi) -> None:
    with httpx.Client(base_url=api_server.base_url, timeout=10) as client:
        for _ in range(2):
            client.post("/users", json=user_body(username=f"h{_}x", email=f"h{_}x@example.com"))
        page = client.get("/users?limit=1", headers={"Host": "localhost:8000"})
        assert page.links["next"]["url"].startswith("http://localhost:8000/users?")
        redirect = client.get("/users/", headers={"Host": "localhost:8000"})
        assert redirect.status_code == 307
        assert redirect.headers["location"] == "http://localhost:8000/users"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_answer_whatever_the_host(api_server: RunningApi, path: str) -> None:
    response = httpx.get(api_server.base_url + path, headers={"Host": "10.1.2.3:8000"}, timeout=10)
    assert response.status_code == 200
