"""Keyset paging: limit and after on every list, Link rel="next" until the last page, and
a page bounded in bytes, so memory per worker is too."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import RunningApi, running_api
from harness.roles import as_owner
from shared_models.post import CONTENT_MAX_LENGTH
from tests.api.factories import create_post, create_user
from tests.support.metrics import child_pids

MIB = 1024 * 1024
# What docs/api.md promises for a worker under the heaviest reading the API allows.
WORKER_RSS_BOUND = 200 * MIB
# 16 clients read 16 times this many posts of 400 KB: 410 MB, twice the bound, so a
# worker that kept what it sent would cross it; every page is as large as pages get.
LARGEST_POSTS = 64


def follow_next(client: httpx.Client, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page, following Link rel="next" until it is absent."""
    pages = []
    response = client.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json())
        following = response.links.get("next")
        if following is None:
            return pages
        response = client.get(following["url"])


def test_250_posts_in_pages_of_100_have_no_gap_or_repeat(client: httpx.Client) -> None:
    user, other = create_user(client), create_user(client)
    created = []
    for i in range(250):
        created.append(create_post(client, user["id"], title=f"post {i}")["id"])
        # Another author's posts in between: a page that lost the filter would show them.
        create_post(client, other["id"])

    pages = follow_next(client, f"/users/{user['id']}/posts", limit=100)

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [post["id"] for page in pages for post in page] == created
    # /posts?user_id= pages the same way, and its Link keeps the filter.
    filtered = follow_next(client, "/posts", user_id=user["id"], limit=100)
    assert [len(page) for page in filtered] == [100, 100, 50]
    assert [post["id"] for page in filtered for post in page] == created


def test_next_link_is_rfc8288_and_keeps_the_query(client: httpx.Client) -> None:
    user = create_user(client)
    posts = [create_post(client, user["id"]) for _ in range(3)]
    response = client.get("/posts", params={"user_id": user["id"], "limit": 2})
    link = response.headers["link"]
    assert link.endswith('>; rel="next"')
    assert link.startswith("<http")
    next_url = httpx.URL(response.links["next"]["url"])
    assert next_url.path == "/posts"
    assert dict(next_url.params) == {
        "user_id": str(user["id"]),
        "limit": "2",
        "after": str(posts[1]["id"]),
    }
    last = client.get(next_url)
    assert [post["id"] for post in last.json()] == [posts[2]["id"]]
    assert "link" not in last.headers


def test_exactly_full_last_page_has_no_next(client: httpx.Client) -> None:
    user = create_user(client)
    for _ in range(2):
        create_post(client, user["id"])
    response = client.get(f"/users/{user['id']}/posts", params={"limit": 2})
    assert len(response.json()) == 2
    assert "link" not in response.headers


def test_default_page_is_50(client: httpx.Client) -> None:
    user = create_user(client)
    for _ in range(51):
        create_post(client, user["id"])
    response = client.get("/posts", params={"user_id": user["id"]})
    assert len(response.json()) == 50
    assert "next" in response.links


def test_users_list_pages_by_id(client: httpx.Client) -> None:
    users = [create_user(client) for _ in range(5)]
    pages = follow_next(client, "/users", limit=2, after=users[0]["id"] - 1)
    seen = [user["id"] for page in pages for user in page]
    assert seen[:5] == [user["id"] for user in users]
    assert seen == sorted(set(seen))


@pytest.mark.parametrize("path", ["/users", "/posts", "/users/1/posts"])
@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"after": -1}, {"after": 2**63}],
)
def test_out_of_range_paging_is_422(
    client: httpx.Client, path: str, params: dict[str, Any]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_a_page_stops_at_its_byte_budget_and_link_carries_on(client: httpx.Client) -> None:
    user = create_user(client)
    # 300,000 bytes each (3-byte characters): the budget holds the rows that start before
    # it (0, 300k, 600k, 900k bytes), and the fifth starts a page of its own.
    content = "€" * 100_000
    posts = [create_post(client, user["id"], content=content)["id"] for _ in range(5)]
    pages = follow_next(client, "/posts", user_id=user["id"], limit=100)
    assert [len(page) for page in pages] == [4, 1]
    assert [post["id"] for page in pages for post in page] == posts


def test_the_largest_post_is_one_page_on_its_own(client: httpx.Client) -> None:
    user = create_user(client)
    largest = "😀" * CONTENT_MAX_LENGTH  # 400,000 bytes: the most one post can hold
    assert create_post(client, user["id"], content=largest)["content"] == largest
    too_long = {"title": "t", "content": largest + "x"}
    assert client.post(f"/users/{user['id']}/posts", json=too_long).status_code == 422


def worker_rss(api: RunningApi) -> dict[int, int]:
    return {pid: psutil.Process(pid).memory_info().rss for pid in child_pids(api.process.pid)}


def test_sixteen_clients_paging_through_the_largest_posts_stay_within_memory(
    migrated_database: URL, log_dir: Path
) -> None:
    """Every post at the largest size the API accepts (CONTENT_MAX_LENGTH characters of
    4 UTF-8 bytes), 16 clients each reading pages of 100 at once: every worker stays
    under WORKER_RSS_BOUND and none is replaced."""
    with connect(as_owner(migrated_database)) as owner:
        owner.execute(
            "INSERT INTO users (username, username_key, email)"
            " VALUES ('big', 'big', 'big@example.com')"
        )
        owner.execute(
            "INSERT INTO posts (title, content, user_id)"
            " SELECT 'post ' || n, repeat(chr(128512), %s), (SELECT id FROM users)"
            " FROM generate_series(1, %s) AS n",
            (CONTENT_MAX_LENGTH, LARGEST_POSTS),
        )
    with running_api(migrated_database, log_dir, WEB_CONCURRENCY="2") as api:
        workers = set(worker_rss(api))
        peak: dict[int, int] = {}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for pid, rss in worker_rss(api).items():
                    peak[pid] = max(peak.get(pid, 0), rss)
                time.sleep(0.02)

        def read_every_page(_: int) -> int:
            with httpx.Client(base_url=api.base_url, timeout=60) as reader:
                return sum(len(page) for page in follow_next(reader, "/posts", limit=100))

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with ThreadPoolExecutor(16) as pool:
                counts = list(pool.map(read_every_page, range(16)))
        finally:
            stop.set()
            sampler.join()
        assert counts == [LARGEST_POSTS] * 16
        assert set(worker_rss(api)) == workers, "a worker died:\n" + api.log()[-3000:]
    print(f"\npeak RSS per worker: {[f'{rss / MIB:.0f} MiB' for rss in peak.values()]}")
    assert max(peak.values()) < WORKER_RSS_BOUND, peak
