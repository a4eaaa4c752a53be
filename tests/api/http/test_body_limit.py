"""Bodies over MAX_BODY_BYTES get 413 without being read whole (api.body_limit): declared
or chunked, to the byte."""

import contextlib
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import URL

from harness.processes import RunningApi, running_api
from tests.api.factories import PASSWORD, unique

MIB = 1024 * 1024


def padded_user(size: int) -> bytes:
    """A valid create-user body of exactly ``size`` bytes (JSON allows the padding)."""
    name = unique()
    text = f'{{"username": "{name}", "email": "{name}@example.com", "password": "{PASSWORD}"}}'
    body = text.encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_body_of_exactly_max_body_bytes_is_read_and_one_more_is_413(
    client: httpx.Client,
) -> None:
    json_type = {"content-type": "application/json"}
    at_limit = client.post("/users", content=padded_user(MIB), headers=json_type)
    assert at_limit.status_code == 201, at_limit.text
    over = client.post("/users", content=padded_user(MIB + 1), headers=json_type)
    assert over.status_code == 413
    assert over.json() == {"detail": "request body larger than 1048576 bytes"}
    # The server closes the connection rather than read the unread rest of the body.
    assert over.headers["connection"] == "close"


def chunked(body: bytes, size: int = 65536) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_of_exactly_max_body_bytes_is_read_and_one_more_is_413(
    client: httpx.Client,
) -> None:
    json_type = {"content-type": "application/json"}
    at_limit = client.post("/users", content=chunked(padded_user(MIB)), headers=json_type)
    assert at_limit.status_code == 201, at_limit.text
    over = client.post("/users", content=chunked(padded_user(MIB + 1)), headers=json_type)
    assert over.status_code == 413
    assert over.json() == {"detail": "request body larger than 1048576 bytes"}
    assert over.headers["connection"] == "close"


def test_an_endless_chunked_body_is_refused_long_before_it_ends(api_server: RunningApi) -> None:
    """The server answers 413 once the limit is passed; it does not read the rest first."""
    url = httpx.URL(api_server.base_url)
    offered = 256 * MIB
    chunk = b"x" * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    answer = b""
    with socket.create_connection((url.host, url.port or 80), timeout=10) as sock:
        sock.sendall(
            b"POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.setblocking(False)
        give_up_at = time.monotonic() + 30
        while sent < offered and time.monotonic() < give_up_at:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break  # the server has answered
            if writable:
                try:
                    sent += sock.send(frame)
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    break
        sock.settimeout(10)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while b"\r\n\r\n" not in answer and (data := sock.recv(65536)):
                answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The limit plus what socket buffers hold, not the whole offer.
    assert sent < 32 * MIB, f"{sent / MIB:.0f} MiB were sent before the server answered"


@pytest.fixture(scope="module")
def impatient_api(
    api_database: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApi]:
    with running_api(api_database, tmp_path_factory.mktemp("slow"), MAX_BODY_SECONDS="1") as api:
        yield api


# How each framing sends its head's last line, its first byte of body, and each byte after.
FRAMINGS = {
    "content-length": (b"Content-Length: 100000\r\n", b"{", b"x"),
    "chunked": (b"Transfer-Encoding: chunked\r\n", b"1\r\n{\r\n", b"1\r\nx\r\n"),
}


@pytest.mark.parametrize("framing", list(FRAMINGS))
def test_a_body_dribbled_past_max_body_seconds_is_a_408(
    impatient_api: RunningApi, framing: str
) -> None:
    """A byte every 200 ms, forever: the api answers 408 when MAX_BODY_SECONDS is up and
    closes the connection, so the slot the request held is free again."""
    url = httpx.URL(impatient_api.base_url)
    header, first, byte = FRAMINGS[framing]
    head = b"POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    with socket.create_connection((url.host, url.port or 80), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head + header + b"\r\n" + first)
        sock.setblocking(False)
        answer = b""
        while time.monotonic() - started < 8 and b"\r\n\r\n" not in answer:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                answer += sock.recv(65536)
            else:
                with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
                    sock.send(byte)
        waited = time.monotonic() - started
        sock.settimeout(5)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while chunk := sock.recv(65536):  # to the end: the server closes the connection
                answer += chunk
    status = answer.partition(b"\r\n\r\n")[0]
    assert status.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"connection: close" in status.lower()
    assert 0.9 < waited < 3, waited
    assert b"the request body did not arrive within 1 s" in answer
