"""Ids in paths and query strings (api.ids): anything but a positive integer that fits a
bigint is a 422."""

import httpx
import pytest


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
