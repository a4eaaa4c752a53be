"""What uvicorn refuses before the app sees a request is answered in the API's JSON
(api.http.protocol), and no answer names the server."""

from __future__ import annotations

import socket

import httpx
import pytest

from harness.processes import RunningApi


def raw(api: RunningApi, request: bytes) -> bytes:
    url = httpx.URL(api.base_url)
    with socket.create_connection((url.host, url.port or 80), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /users HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\x01b\r\n\r\n",
        b"GET /users HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\x7fb\r\n\r\n",
        b"GET /us ers HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /users HTTP/9.9\r\nHost: localhost\r\n\r\n",
        b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello, on the plain port
    ],
    ids=["control-in-value", "del-in-value", "space-in-path", "version", "connect", "tls"],
)
def test_a_request_uvicorn_refuses_is_answered_in_json(
    api_server: RunningApi, request_bytes: bytes
) -> None:
    answer = raw(api_server, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"content-type: application/json" in head.lower()
    assert body == b'{"detail":"invalid HTTP request"}'
    assert b"server:" not in head.lower()


@pytest.mark.parametrize("path", ["/", "/users", "/nowhere", "/readyz", "/docs"])
def test_no_answer_names_the_server(client: httpx.Client, path: str) -> None:
    assert "server" not in client.get(path).headers
