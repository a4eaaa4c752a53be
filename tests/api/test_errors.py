"""Every mistake gets an exact JSON answer: ids, sizes, races, a stopped database, an old schema."""

import asyncio
import contextlib
import secrets
import select
import socket
import string
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from api.database import Database, Query
from api.settings import ApiDatabaseSettings, ApiSettings
from api.statements import ALL, POSTS_PAGE, USER_BY_ID, USERS_PAGE
from tests.api.factories import create_post, create_user, unique
from tests.support.databases import connect
from tests.support.postgres import PostgresServer
from tests.support.processes import RunningApi, alembic, running_api
from tests.support.revisions import revision_before, revision_named

MIB = 1024 * 1024


@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", "1.5", str(2**63), "9" * 30])
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/users/{}"),
        ("PATCH", "/users/{}"),
        ("DELETE", "/users/{}"),
        ("GET", "/users/{}/posts"),
        ("POST", "/users/{}/posts"),
        ("GET", "/posts/{}"),
        ("PATCH", "/posts/{}"),
        ("DELETE", "/posts/{}"),
        ("GET", "/posts?user_id={}"),
    ],
)
def test_ids_that_are_not_positive_integers_are_422(
    client: httpx.Client, bad_id: str, method: str, template: str
) -> None:
    body = {"title": "t", "content": "c"} if method == "POST" else {}
    response = client.request(method, template.format(bad_id), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_unknown_route_and_method_answer_json(client: httpx.Client) -> None:
    assert client.get("/nope").json() == {"detail": "Not Found"}
    response = client.put("/users")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def test_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/users", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


def padded_user(size: int) -> bytes:
    """A valid create-user body of exactly ``size`` bytes (JSON allows the padding)."""
    name = unique()
    body = f'{{"username": "{name}", "email": "{name}@example.com"}}'.encode()
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
            b"POST /users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
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


def test_twenty_simultaneous_creates_of_one_username_give_one_201(api_server: RunningApi) -> None:
    username = unique("race")
    start = threading.Barrier(20)

    def create(attempt: int) -> httpx.Response:
        with httpx.Client(base_url=api_server.base_url, timeout=30) as client:
            start.wait()
            return client.post(
                "/users", json={"username": username, "email": f"{username}-{attempt}@example.com"}
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(create, range(20)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19
    conflicts = [r.json() for r in responses if r.status_code == 409]
    assert all(body == {"detail": "username is already taken"} for body in conflicts)


def test_twenty_simultaneous_creates_differing_only_by_case_give_one_201(
    api_server: RunningApi,
) -> None:
    base = "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))
    # One name in twenty spellings (abcde..., Abcde..., aBcde..., ABcde..., ...).
    spellings = [
        "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate(base)) for i in range(20)
    ]
    assert len(set(spellings)) == 20
    start = threading.Barrier(20)

    def create(number: int) -> httpx.Response:
        with httpx.Client(base_url=api_server.base_url, timeout=30) as client:
            start.wait()
            body = {"username": spellings[number], "email": f"{base}-{number}@example.com"}
            return client.post("/users", json=body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(create, range(20)))

    assert sorted(response.status_code for response in responses) == [201] + [409] * 19
    conflicts = [response.json() for response in responses if response.status_code == 409]
    assert all(body == {"detail": "username is already taken"} for body in conflicts)


def test_stopped_database_gives_503_quickly_then_recovers(
    own_server: PostgresServer, own_migrated_database: URL, log_dir: Path
) -> None:
    database = own_migrated_database
    with (
        running_api(database, log_dir, DB_POOL_TIMEOUT="2") as api,
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        user = create_user(client)
        own_server.stop()

        for path in (f"/users/{user['id']}", "/posts", "/readyz"):
            started = time.monotonic()
            response = client.get(path)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": "database unavailable"}
            assert response.headers["retry-after"] == "5"
            # Bounded by the connect and pool timeouts, not by TCP's minutes-long retries.
            assert elapsed < 10, f"{path} took {elapsed:.1f}s"
        assert client.get("/healthz").status_code == 200  # liveness needs no database

        own_server.start()
        # Pooled connections died with the server; each is replaced on first use.
        statuses = [client.get(f"/users/{user['id']}").status_code for _ in range(10)]
        assert statuses[-1] == 200, statuses
        assert set(statuses) <= {200, 503}
        assert client.get(f"/users/{user['id']}").json() == user


def test_workers_that_start_while_the_database_is_down_serve_503_then_recover(
    own_server: PostgresServer, own_migrated_database: URL, log_dir: Path
) -> None:
    database = own_migrated_database
    own_server.stop()  # the fixture removes it, running or not
    with (
        running_api(database, log_dir) as api,  # boots: the pool opens in the background
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        assert client.get("/healthz").status_code == 200
        for path in ("/users/1", "/readyz"):
            response = client.get(path)
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": "database unavailable"}
        own_server.start()
        deadline = time.monotonic() + 20  # the retry's back-off tops out at 5 s
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, api.log()
            time.sleep(0.2)
        assert client.get("/users/1").status_code == 404
        assert "database reachable: connection pool open" in api.log()


def test_schema_behind_the_code_is_503_saying_so(empty_database: URL, log_dir: Path) -> None:
    alembic(empty_database, "upgrade", "head")
    with (
        running_api(empty_database, log_dir) as api,
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        user = create_user(client)
        # Back to before "add user bio": users.bio is gone.
        alembic(empty_database, "downgrade", str(revision_before(revision_named("add user bio"))))

        for response in (
            client.get(f"/users/{user['id']}"),
            client.get("/users"),
            client.post("/users", json={"username": unique(), "email": f"{unique()}@example.com"}),
            client.get("/readyz"),
        ):
            assert response.status_code == 503, response.text
            assert "schema is behind" in response.json()["detail"]
        # Requests that do not need the missing column still work.
        assert client.get("/posts").status_code == 200

        alembic(empty_database, "upgrade", "head")
        assert client.get("/readyz").status_code == 200
        assert client.get(f"/users/{user['id']}").json() == {**user, "bio": None}


def test_a_statement_past_db_statement_timeout_is_cancelled_and_503(
    migrated_database: URL, log_dir: Path
) -> None:
    with (
        running_api(migrated_database, log_dir, DB_STATEMENT_TIMEOUT="1") as api,
        httpx.Client(base_url=api.base_url, timeout=15) as client,
    ):
        user = create_user(client)
        with connect(migrated_database) as locker:
            # Every read of users now waits for this transaction: the statement runs long.
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            response = client.get(f"/users/{user['id']}")
            elapsed = time.monotonic() - started
            locker.execute("ROLLBACK")
        assert response.status_code == 503, response.text
        assert response.json() == {"detail": "database did not answer in time"}
        assert response.headers["retry-after"] == "5"
        assert 0.9 < elapsed < 5, f"cancelled after {elapsed:.1f}s, DB_STATEMENT_TIMEOUT=1"
        assert client.get(f"/users/{user['id']}").json() == user


def test_readiness_leaves_no_statement_clock_running_on_its_connection(
    migrated_database: URL, log_dir: Path
) -> None:
    """asyncpg prepares with Parse, Describe and Flush, no Sync, so PostgreSQL's
    statement_timeout clock keeps running after a bare prepare: /readyz once left it
    running when every statement it prepares was already in the connection's cache, and
    the next statement on that connection, however quick, was cancelled once the timeout
    had passed (a spurious 503 every few hundred thousand requests under load)."""
    with (
        running_api(
            migrated_database, log_dir, DB_STATEMENT_TIMEOUT="0.5",
            WEB_CONCURRENCY="1", DB_POOL_SIZE="1", DB_POOL_MAX_OVERFLOW="0",
        ) as api,
        httpx.Client(base_url=api.base_url, timeout=15) as client,
    ):  # fmt: skip
        # One worker, one connection: every request shares it. Each statement once, so
        # all of them are in its statement cache.
        gone = create_user(client)
        post = create_post(client, gone["id"])
        for path in ("/users", "/posts", f"/posts/{post['id']}", f"/users/{gone['id']}/posts"):
            assert client.get(path).status_code == 200, path
        assert client.delete(f"/posts/{post['id']}").status_code == 204
        assert client.delete(f"/users/{gone['id']}").status_code == 204
        user = create_user(client)
        assert client.get(f"/users/{user['id']}").status_code == 200
        for _ in range(2):
            assert client.get("/readyz").status_code == 200
            time.sleep(0.8)  # longer than DB_STATEMENT_TIMEOUT, idle in the pool
            response = client.get(f"/users/{user['id']}")
            assert response.status_code == 200, response.text


PREPARED_ON_THIS_CONNECTION = Query("SELECT count(*) FROM pg_prepared_statements", ())


def test_readiness_leaves_no_prepared_statements_behind(migrated_database: URL) -> None:
    """Each /readyz prepares every statement; asyncpg never closed those whose text was
    also in its cache, so they piled up on the server, ten per probe per connection."""

    async def probe_many_times() -> int:
        database = await Database.open(
            ApiDatabaseSettings(database_url=migrated_database.render_as_string(False)),
            ApiSettings(db_pool_size=1, db_pool_max_overflow=0),
        )
        try:
            # The reads into the connection's statement cache, as the routes put them.
            await database.fetchrow(USER_BY_ID, user_id=1)
            await database.fetch(USERS_PAGE, after=0, look_ahead_limit=2)
            await database.fetch(POSTS_PAGE, after=0, look_ahead_limit=2)
            for _ in range(5):
                await database.check(ALL)
            row = await database.fetchrow(PREPARED_ON_THIS_CONNECTION)
            assert row is not None
            return int(row[0])
        finally:
            await database.close()

    # The three cached reads, this count, and at most the last probe's statement, whose
    # Close is sent with the next statement asyncpg prepares.
    assert asyncio.run(probe_many_times()) <= 5
