"""Ids and paging numbers in paths and query strings (api.ids): anything but plain decimal
digits of a positive integer that fits a bigint is a 422, and changes nothing."""

from typing import Any

import httpx
import pytest

from api.http.ids import decimal_digits
from tests.api.factories import bearer, create_post, create_user, log_in

NOT_PLAIN_DIGITS = ["1.0", "+1", "01", "1_000", "\uff11", " 1", "1e0", "0x1"]


@pytest.mark.parametrize(
    "bad_id", ["0", "-1", "abc", "1.5", str(2**63), "9" * 30, *NOT_PLAIN_DIGITS]
)
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
    client: httpx.Client,
    account: tuple[dict[str, Any], str],
    bad_id: str,
    method: str,
    template: str,
) -> None:
    body = {"title": "t", "content": "c"} if method == "POST" else {}
    # With a valid token: without one, a write is a 401 before its id is read.
    response = client.request(
        method, template.format(bad_id), json=body, headers=bearer(account[1])
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize("spelling", NOT_PLAIN_DIGITS)
def test_a_number_spelled_otherwise_touches_nothing(client: httpx.Client, spelling: str) -> None:
    """``DELETE /posts/1.0`` once deleted post 1."""
    user = create_user(client)
    post = create_post(client, user["id"])
    one = spelling.replace("1", str(post["id"])) if spelling != "\uff11" else spelling
    token = log_in(client, user["username"])
    assert client.delete(f"/posts/{one}", headers=bearer(token)).status_code == 422
    assert client.get(f"/posts/{post['id']}").json() == post


@pytest.mark.parametrize("name", ["limit", "after"])
@pytest.mark.parametrize("spelling", NOT_PLAIN_DIGITS)
def test_paging_numbers_spelled_otherwise_are_422(
    client: httpx.Client, name: str, spelling: str
) -> None:
    response = client.get("/posts", params={name: spelling})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", name]


# Digits str.isdigit() and int() take that are not ASCII: fullwidth, Arabic-Indic,
# Devanagari, mathematical bold. Some pydantic refuses by itself; the validator refuses all.
OTHER_DIGITS = ["\uff11", "\u0661", "\u0967", "\U0001d7cf", "1\uff10"]


@pytest.mark.parametrize("spelling", [*NOT_PLAIN_DIGITS, *OTHER_DIGITS])
def test_the_validator_refuses_whatever_is_not_ascii_decimal_digits(spelling: str) -> None:
    with pytest.raises(ValueError, match="plain decimal digits"):
        decimal_digits(spelling)


@pytest.mark.parametrize("spelling", ["0", "1", "42", str(2**63 - 1)])
def test_the_validator_lets_plain_digits_through(spelling: str) -> None:
    assert decimal_digits(spelling) == spelling
