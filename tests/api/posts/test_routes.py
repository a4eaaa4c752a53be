"""The /posts contract, over HTTP against the real database and migrations."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.http.ids import MAX_ID
from tests.api.factories import bearer, create_post, create_user

# The route tests' contract (tests/api/conftest.py): no ERROR in the database's log.
pytestmark = pytest.mark.usefixtures("no_database_errors")


def test_create_returns_201_with_server_time(client: httpx.Client) -> None:
    user = create_user(client)
    response = client.post(
        f"/users/{user['id']}/posts", json={"title": "Hello", "content": "First post"}
    )
    assert response.status_code == 201
    post = response.json()
    assert post["title"] == "Hello"
    assert post["content"] == "First post"
    assert post["user_id"] == user["id"]
    posted = datetime.fromisoformat(post["date_posted"])
    assert posted.tzinfo is not None
    assert abs(datetime.now(UTC) - posted) < timedelta(minutes=5)
    assert client.get(f"/posts/{post['id']}").json() == post


def test_create_for_unknown_user_is_403_and_creates_nothing(
    client: httpx.Client, account: tuple[dict[str, Any], str]
) -> None:
    """Only a user posts as themselves: no user but the URL's has its token (403)."""
    body = {"title": "t", "content": "c"}
    url = "/users/9223372036854775807/posts"
    response = client.post(url, json=body, headers=bearer(account[1]))
    assert response.status_code == 403
    assert client.get("/posts", params={"user_id": 9223372036854775807}).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"content": "no title"},
        {"title": "no content"},
        {"title": "", "content": "c"},
        {"title": "t" * 101, "content": "c"},
        {"title": "t", "content": ""},
        {"title": "t", "content": "nul \x00"},
        {"title": "t", "content": "c", "user_id": 1},
    ],
)
def test_invalid_post_is_422(client: httpx.Client, body: Any) -> None:
    user = create_user(client)
    response = client.post(f"/users/{user['id']}/posts", json=body)
    assert response.status_code == 422, response.text
    assert client.get(f"/users/{user['id']}/posts").json() == []


def test_get_unknown_post_is_404(client: httpx.Client) -> None:
    response = client.get("/posts/9223372036854775807")
    assert (response.status_code, response.json()) == (404, {"detail": "Post not found"})


def test_patch_changes_title_or_content(client: httpx.Client) -> None:
    post = create_post(client, create_user(client)["id"])
    response = client.patch(f"/posts/{post['id']}", json={"content": "Edited"})
    assert response.status_code == 200
    assert response.json() == {**post, "content": "Edited"}
    response = client.patch(f"/posts/{post['id']}", json={"title": "Retitled"})
    assert response.json() == {**post, "content": "Edited", "title": "Retitled"}


@pytest.mark.parametrize("field", ["title", "content"])
def test_patch_changes_that_post_and_no_other(client: httpx.Client, field: str) -> None:
    user = create_user(client)
    before, target, after = (create_post(client, user["id"]) for _ in range(3))
    assert client.patch(f"/posts/{target['id']}", json={field: "changed"}).status_code == 200
    assert client.get(f"/posts/{target['id']}").json() == {**target, field: "changed"}
    for neighbour in (before, after):
        assert client.get(f"/posts/{neighbour['id']}").json() == neighbour


@pytest.mark.parametrize("body", [{"title": None}, {"title": ""}, {"user_id": 1}])
def test_patch_invalid_is_422(client: httpx.Client, body: Any) -> None:
    post = create_post(client, create_user(client)["id"])
    assert client.patch(f"/posts/{post['id']}", json=body).status_code == 422
    assert client.get(f"/posts/{post['id']}").json() == post


def test_patch_and_delete_unknown_post_are_404(
    client: httpx.Client, account: tuple[dict[str, Any], str]
) -> None:
    url, auth = "/posts/9223372036854775807", bearer(account[1])
    assert client.patch(url, json={"title": "x"}, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404


def test_delete_is_204_and_leaves_the_author(client: httpx.Client) -> None:
    user = create_user(client)
    post = create_post(client, user["id"])
    assert client.delete(f"/posts/{post['id']}").status_code == 204
    assert client.get(f"/posts/{post['id']}").status_code == 404
    assert client.get(f"/users/{user['id']}").status_code == 200


def test_delete_removes_that_post_and_nothing_else(client: httpx.Client) -> None:
    user = create_user(client)
    before, target, after = (create_post(client, user["id"]) for _ in range(3))
    assert client.delete(f"/posts/{target['id']}").status_code == 204
    assert client.get(f"/posts/{target['id']}").status_code == 404
    assert client.get(f"/users/{user['id']}/posts").json() == [before, after]


@pytest.mark.parametrize("body", [{"title": "nul \x00"}, {"content": "nul \x00"}])
def test_patch_with_a_nul_byte_is_422_and_changes_nothing(client: httpx.Client, body: Any) -> None:
    post = create_post(client, create_user(client)["id"])
    assert client.patch(f"/posts/{post['id']}", json=body).status_code == 422
    assert client.get(f"/posts/{post['id']}").json() == post


def test_list_filters_by_author(client: httpx.Client) -> None:
    author, other = create_user(client), create_user(client)
    mine = [create_post(client, author["id"]) for _ in range(3)]
    create_post(client, other["id"])
    assert client.get("/posts", params={"user_id": author["id"]}).json() == mine


def test_list_without_an_author_has_every_authors_posts(client: httpx.Client) -> None:
    author, other = create_user(client), create_user(client)
    posts = [create_post(client, author["id"]), create_post(client, other["id"])]
    response = client.get("/posts", params={"after": posts[0]["id"] - 1})
    assert response.json()[:2] == posts


@pytest.mark.parametrize("value", ["", "null"])
def test_an_empty_or_null_author_is_422_not_every_author(client: httpx.Client, value: str) -> None:
    # A query string has no null; leaving the parameter out asks for every author.
    response = client.get(f"/posts?user_id={value}")
    assert response.status_code == 422, response.text


def test_the_largest_id_is_a_valid_author(client: httpx.Client) -> None:
    response = client.get("/posts", params={"user_id": MAX_ID})
    assert response.status_code == 200, response.text
    assert response.json() == []


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [("title", "t" * 101, "at most 100 characters"), ("content", None, "not null")],
)
def test_a_bad_patch_names_its_field_once_in_words(
    client: httpx.Client, field: str, value: Any, why: str
) -> None:
    post = create_post(client, create_user(client)["id"])
    response = client.patch(f"/posts/{post['id']}", json={field: value})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert why in error["msg"]
