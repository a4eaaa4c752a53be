"""Each account's write budget, over HTTP against the real app and database: an api that
allows 5 writes in 3 s and 1,000 bytes of posts per account. A refused write gets its
429 (with Retry-After) or 413 in words, writes nothing, and leaves other accounts alone;
the database's count of each account's bytes is exact whoever writes, even under a
burst of one account's writes at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from harness.processes import RunningApi, running_api
from harness.roles import as_owner
from tests.api.factories import AS_OWNER, create_post, create_user, log_in

WRITES, WINDOW_SECONDS, STORED_BYTES = 5, 3, 1000


@pytest.fixture(scope="module")
def budgeted_api(
    api_database: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApi]:
    logs = tmp_path_factory.mktemp("budgeted")
    with running_api(
        api_database, logs, WRITES_PER_ACCOUNT=str(WRITES),
        WRITE_WINDOW_SECONDS=str(WINDOW_SECONDS), STORED_BYTES_PER_ACCOUNT=str(STORED_BYTES),
    ) as api:  # fmt: skip
        yield api


@pytest.fixture
def client(budgeted_api: RunningApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=budgeted_api.base_url, timeout=30) as http:
        yield http


def stored(database: URL, user_id: int) -> tuple[int, int]:
    """The account's stored bytes as counted, and as its posts really take them."""
    engine = create_engine(as_owner(database))
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT stored_bytes, (SELECT coalesce(sum(octet_length(title) "
                "+ octet_length(content)), 0) FROM posts WHERE user_id = :id) "
                "FROM users WHERE id = :id"
            ),
            {"id": user_id},
        ).one()
    engine.dispose()
    return int(row[0]), int(row[1])


def posts_of(client: httpx.Client, user_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/users/{user_id}/posts", params={"limit": 100})
    assert response.status_code == 200, response.text
    posts: list[dict[str, Any]] = response.json()
    return posts


def post(client: httpx.Client, user_id: int, content: str, title: str = "t") -> httpx.Response:
    body = {"title": title, "content": content}
    return client.post(f"/users/{user_id}/posts", json=body, auth=AS_OWNER)


def wait_for_a_new_window(refused: httpx.Response) -> None:
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)


def test_past_its_writes_an_account_gets_429_and_writes_nothing(client: httpx.Client) -> None:
    author, other = create_user(client), create_user(client)
    answers = [post(client, author["id"], f"post {n}").status_code for n in range(WRITES)]
    assert answers == [201] * WRITES
    refused = post(client, author["id"], "one too many")
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
    assert "writes" in refused.json()["detail"]
    assert len(posts_of(client, author["id"])) == WRITES
    # Every write of the account counts, a change of the user too; deletes never do.
    assert (
        client.patch(f"/users/{author['id']}", json={"bio": "x"}, auth=AS_OWNER).status_code == 429
    )
    first = posts_of(client, author["id"])[0]
    assert client.delete(f"/posts/{first['id']}", auth=AS_OWNER).status_code == 204
    # Another account is not held back by it.
    assert post(client, other["id"], "mine").status_code == 201
    wait_for_a_new_window(refused)
    assert post(client, author["id"], "in a new window").status_code == 201


def test_past_its_bytes_an_account_gets_413_until_it_deletes(
    client: httpx.Client, api_database: URL
) -> None:
    author = create_user(client)
    kept = create_post(client, author["id"], title="t", content="é" * 300)  # 601 bytes
    refused = post(client, author["id"], "x" * 399)  # 400 bytes: 1,001 in all
    assert refused.status_code == 413, refused.text
    assert f"{STORED_BYTES} bytes" in refused.json()["detail"]
    assert stored(api_database, author["id"]) == (601, 601)
    assert post(client, author["id"], "x" * 398).status_code == 201  # 1,000: within
    assert client.delete(f"/posts/{kept['id']}", auth=AS_OWNER).status_code == 204
    assert stored(api_database, author["id"]) == (399, 399)
    assert post(client, author["id"], "y" * 500).status_code == 201


def test_a_change_may_not_grow_posts_past_the_bytes_but_may_shrink_them(
    client: httpx.Client, api_database: URL
) -> None:
    author = create_user(client)
    first = create_post(client, author["id"], title="t", content="x" * 900)
    grown = client.patch(f"/posts/{first['id']}", json={"content": "x" * 1000}, auth=AS_OWNER)
    assert grown.status_code == 413, grown.text
    assert client.get(f"/posts/{first['id']}").json()["content"] == "x" * 900
    retitled = client.patch(f"/posts/{first['id']}", json={"title": "a new title"}, auth=AS_OWNER)
    assert retitled.status_code == 200, retitled.text  # 911 bytes: within
    assert stored(api_database, author["id"]) == (911, 911)
    shrunk = client.patch(f"/posts/{first['id']}", json={"content": "x" * 10}, auth=AS_OWNER)
    assert shrunk.status_code == 200, shrunk.text
    assert stored(api_database, author["id"]) == (21, 21)
    # Another author's post is still a 403, not a matter of this account's budget.
    stranger = create_user(client)
    token = log_in(client, stranger["username"])
    answer = client.patch(
        f"/posts/{first['id']}", json={"content": "y"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403, answer.text


def test_the_count_is_kept_whoever_writes(client: httpx.Client, api_database: URL) -> None:
    """The trigger counts what the api did not write: psql, the previous release."""
    author = create_user(client)
    create_post(client, author["id"], content="by the api")
    engine = create_engine(as_owner(api_database))
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO posts (title, content, user_id) VALUES ('by', 'hand', :id)"),
            {"id": author["id"]},
        )
        connection.execute(
            text("UPDATE posts SET content = content || ' and more' WHERE user_id = :id"),
            {"id": author["id"]},
        )
    engine.dispose()
    counted, real = stored(api_database, author["id"])
    assert counted == real == len("A title" + "by the api and more" + "by" + "hand and more")


async def burst(base_url: str, user_id: int, token: str, count: int, size: int) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"title": "t", "content": "x" * (size - 1)}
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=headers) as http:
        answers = await asyncio.gather(
            *(http.post(f"/users/{user_id}/posts", json=body) for _ in range(count))
        )
    return [answer.status_code for answer in answers]


def test_a_burst_of_one_accounts_writes_never_overshoots(
    client: httpx.Client, budgeted_api: RunningApi, api_database: URL
) -> None:
    """Sent at once, over as many connections: each write sees the one before it."""
    by_rate, by_bytes = create_user(client), create_user(client)
    token = log_in(client, by_rate["username"])
    answers = asyncio.run(burst(budgeted_api.base_url, by_rate["id"], token, 20, 10))
    assert sorted(answers) == [201] * WRITES + [429] * (20 - WRITES)
    time.sleep(WINDOW_SECONDS + 0.2)
    token = log_in(client, by_bytes["username"])
    answers = asyncio.run(burst(budgeted_api.base_url, by_bytes["id"], token, WRITES, 300))
    assert sorted(answers) == [201] * 3 + [413] * (WRITES - 3)
    assert stored(api_database, by_bytes["id"]) == (900, 900)
