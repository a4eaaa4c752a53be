"""Every mistake gets an exact JSON answer: ids, sizes, races, a stopped database, an old schema."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.api.factories import create_user, unique
from tests.support.databases import create_database
from tests.support.postgres import PostgresServer
from tests.support.processes import RunningApi, alembic, running_api
from tests.support.revisions import revision_before, revision_named
from tests.support.roles import set_up_roles

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


def test_body_over_1_mib_is_413_by_content_length(client: httpx.Client) -> None:
    body = b'{"username": "' + b"x" * MIB + b'", "email": "big@example.com"}'
    response = client.post("/users", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": "request body larger than 1048576 bytes"}


def test_chunked_body_over_1_mib_is_413_without_reading_it_all(client: httpx.Client) -> None:
    sent = 0

    def endless_body() -> Iterator[bytes]:
        nonlocal sent
        chunk = b"x" * 65536
        for _ in range(64):  # 4 MiB on offer; the server stops reading after 1 MiB
            sent += len(chunk)
            yield chunk

    try:
        response = client.post(
            "/users", content=endless_body(), headers={"content-type": "application/json"}
        )
    except httpx.RemoteProtocolError:
        pytest.fail("the server closed the connection instead of answering 413")
    assert response.status_code == 413
    assert response.json() == {"detail": "request body larger than 1048576 bytes"}


def test_body_just_under_the_limit_is_read(client: httpx.Client) -> None:
    name = unique()
    padding = " " * (MIB - 200)
    body = f'{{"username": "{name}", "email": "{name}@example.com"{padding}}}'.encode()
    assert len(body) < MIB
    response = client.post("/users", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text


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


def test_stopped_database_gives_503_quickly_then_recovers(
    own_server: PostgresServer, log_dir: Path
) -> None:
    database = create_database(own_server.url)
    set_up_roles(database)
    alembic(database, "upgrade", "head")
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
