"""Keyset paging: limit and after on every list, Link rel="next" until the last page."""

from typing import Any

import httpx
import pytest

from tests.api.factories import create_post, create_user


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
