"""The /users contract, over HTTP against the real database and migrations."""

import secrets
import string
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from api.users.schemas import UserOut
from harness.databases import connect
from harness.processes import RunningApi
from shared_models.identity import username_key
from tests.api.factories import (
    PASSWORD,
    assert_validation_error,
    bearer,
    create_post,
    create_user,
    unique,
    user_body,
)

# The route tests' contract (tests/api/conftest.py): no ERROR in the database's log.
pytestmark = pytest.mark.usefixtures("no_database_errors")


def test_create_returns_201_and_the_user(client: httpx.Client) -> None:
    name = unique()
    response = client.post("/users", json=user_body(username=name, email=f"{name}@example.com"))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == set(UserOut.model_fields)
    assert body == {
        **dict.fromkeys(body),
        "id": body["id"],
        "username": name,
        "email": f"{name}@example.com",
    }
    assert client.get(f"/users/{body['id']}").json() == body


def test_create_accepts_a_bio(client: httpx.Client) -> None:
    assert create_user(client, bio="Writes compilers.")["bio"] == "Writes compilers."


def test_taken_username_is_409_saying_username(client: httpx.Client) -> None:
    user = create_user(client)
    response = client.post(
        "/users", json=user_body(username=user["username"], email=f"{unique()}@example.com")
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "username is already taken"}


def test_taken_email_is_409_saying_email(client: httpx.Client) -> None:
    user = create_user(client)
    response = client.post("/users", json=user_body(username=unique(), email=user["email"]))
    assert response.status_code == 409
    assert response.json() == {"detail": "email is already taken"}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "no-username@example.com", "password": PASSWORD},
        {"username": "no-email", "password": PASSWORD},
        {"username": "", "email": "empty@example.com", "password": PASSWORD},
        {"username": "x" * 51, "email": "long@example.com", "password": PASSWORD},
        {"username": "bad-email", "email": "not-an-email", "password": PASSWORD},
        {"username": "long-email", "email": "a" * 110 + "@example.com", "password": PASSWORD},
        {
            "username": "long-bio",
            "email": "bio@example.com",
            "bio": "b" * 251,
            "password": PASSWORD,
        },
        {"username": "nul\x00byte", "email": "nul@example.com", "password": PASSWORD},
        {
            "username": "nul-bio",
            "email": "nul-bio@example.com",
            "bio": "a\x00b",
            "password": PASSWORD,
        },
        {"username": "extra", "email": "extra@example.com", "is_admin": True, "password": PASSWORD},
        {"username": 7, "email": "number@example.com", "password": PASSWORD},
        {"username": "no-password", "email": "no-password@example.com", "password": None},
        {"username": "short-password", "email": "short@example.com", "password": "seven77"},
        {"username": "common-password", "email": "common@example.com", "password": "Password1"},
        {"username": "long-password", "email": "long-pw@example.com", "password": "p" * 129},
    ],
)
def test_invalid_input_is_422_and_creates_nothing(client: httpx.Client, body: Any) -> None:
    newest = create_user(client)["id"]  # nothing may appear after it
    response = client.post("/users", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert client.get("/users", params={"after": newest}).json() == []


def test_username_of_exactly_50_characters_is_accepted(client: httpx.Client) -> None:
    name = unique()[:12] + "x" * 38
    response = client.post("/users", json=user_body(username=name, email=f"{unique()}@example.com"))
    assert response.status_code == 201, response.text


def test_get_unknown_user_is_404(client: httpx.Client) -> None:
    response = client.get("/users/9223372036854775807")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


def test_patch_changes_only_the_fields_sent(client: httpx.Client) -> None:
    user = create_user(client, bio="old")
    new_name = unique()
    response = client.patch(f"/users/{user['id']}", json={"username": new_name})
    assert response.status_code == 200
    assert response.json() == {**user, "username": new_name}


def test_patch_bio_null_clears_it(client: httpx.Client) -> None:
    user = create_user(client, bio="to be cleared")
    response = client.patch(f"/users/{user['id']}", json={"bio": None})
    assert response.status_code == 200
    assert response.json()["bio"] is None
    assert client.get(f"/users/{user['id']}").json()["bio"] is None


def test_patch_with_nothing_returns_the_user_unchanged(client: httpx.Client) -> None:
    user = create_user(client)
    response = client.patch(f"/users/{user['id']}", json={})
    assert (response.status_code, response.json()) == (200, user)


@pytest.mark.parametrize(
    "body", [{"username": None}, {"email": None}, {"email": "nope"}, {"bio": "nul \x00"}]
)
def test_patch_invalid_is_422_and_changes_nothing(client: httpx.Client, body: Any) -> None:
    user = create_user(client)
    response = client.patch(f"/users/{user['id']}", json=body)
    assert response.status_code == 422, response.text
    assert client.get(f"/users/{user['id']}").json() == user


@pytest.mark.parametrize("field", ["username", "email", "bio"])
def test_patch_changes_that_user_and_no_other(client: httpx.Client, field: str) -> None:
    before, target, after = (create_user(client, bio="as it was") for _ in range(3))
    value = {"username": unique(), "email": f"{unique()}@example.com", "bio": "new"}[field]
    assert client.patch(f"/users/{target['id']}", json={field: value}).status_code == 200
    assert client.get(f"/users/{target['id']}").json() == {**target, field: value}
    for neighbour in (before, after):
        assert client.get(f"/users/{neighbour['id']}").json() == neighbour


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_nul_byte_in_the_bio_is_a_validation_error_of_that_field(
    client: httpx.Client, method: str
) -> None:
    """PostgreSQL text cannot hold NUL: refused by the API, in the documented 422 shape,
    not by the database."""
    name = unique()
    body = user_body(username=name, email=f"{name}@example.com", bio="a\x00b")
    if method == "POST":
        response = client.post("/users", json=body)
    else:
        response = client.patch(f"/users/{create_user(client)['id']}", json={"bio": "a\x00b"})
    assert_validation_error(response, "bio")


def test_patch_to_a_taken_email_is_409(client: httpx.Client) -> None:
    first, second = create_user(client), create_user(client)
    response = client.patch(f"/users/{second['id']}", json={"email": first["email"]})
    assert response.status_code == 409
    assert response.json() == {"detail": "email is already taken"}
    assert client.get(f"/users/{second['id']}").json() == second


def test_patch_of_an_unknown_user_is_another_users_403(
    client: httpx.Client, account: tuple[dict[str, Any], str]
) -> None:
    url, auth = "/users/9223372036854775807", bearer(account[1])
    assert client.patch(url, json={"bio": "x"}, headers=auth).status_code == 403


def test_delete_is_204_and_cascades_to_the_posts(client: httpx.Client) -> None:
    user = create_user(client)
    posts = [create_post(client, user["id"]) for _ in range(3)]
    response = client.delete(f"/users/{user['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/users/{user['id']}").status_code == 404
    for post in posts:
        assert client.get(f"/posts/{post['id']}").status_code == 404
    assert client.get("/posts", params={"user_id": user["id"]}).json() == []


def test_delete_removes_that_user_and_their_posts_and_nothing_else(client: httpx.Client) -> None:
    before, target, after = (create_user(client) for _ in range(3))
    kept = [create_post(client, user["id"]) for user in (before, after)]
    create_post(client, target["id"])
    assert client.delete(f"/users/{target['id']}").status_code == 204
    for user in (before, after):
        assert client.get(f"/users/{user['id']}").json() == user
    for post in kept:
        assert client.get(f"/posts/{post['id']}").json() == post


def test_delete_of_an_unknown_user_is_another_users_403(
    client: httpx.Client, account: tuple[dict[str, Any], str]
) -> None:
    response = client.delete("/users/9223372036854775807", headers=bearer(account[1]))
    assert response.status_code == 403
    assert response.json() == {"detail": "This belongs to another user"}


def test_list_is_a_json_array_ordered_by_id(client: httpx.Client) -> None:
    created = [create_user(client) for _ in range(3)]
    listed = client.get("/users", params={"after": created[0]["id"] - 1, "limit": 3}).json()
    assert listed == created


def test_user_posts_lists_only_theirs_and_404s_for_unknown(client: httpx.Client) -> None:
    author, other = create_user(client), create_user(client)
    mine = [create_post(client, author["id"], title=f"mine {i}") for i in range(2)]
    create_post(client, other["id"])
    assert client.get(f"/users/{author['id']}/posts").json() == mine
    assert client.get(f"/users/{create_user(client)['id']}/posts").json() == []
    response = client.get("/users/9223372036854775807/posts")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


def test_usernames_and_emails_are_unique_regardless_of_case(client: httpx.Client) -> None:
    name = unique("Case")
    first = client.post("/users", json=user_body(username=name, email=f"{name}@Example.com"))
    assert first.status_code == 201
    assert first.json()["username"] == name  # stored as given
    assert first.json()["email"] == f"{name}@example.com"  # (the domain, as email-validator has it)

    body = user_body(username=name.lower(), email=f"{unique()}@x.org")
    same_name = client.post("/users", json=body)
    assert (same_name.status_code, same_name.json()) == (
        409,
        {"detail": "username is already taken"},
    )
    same_email = client.post(
        "/users", json=user_body(username=unique(), email=f"{name.upper()}@EXAMPLE.COM")
    )
    assert (same_email.status_code, same_email.json()) == (
        409,
        {"detail": "email is already taken"},
    )

    other = create_user(client)
    renamed = client.patch(f"/users/{other['id']}", json={"username": name.swapcase()})
    assert (renamed.status_code, renamed.json()) == (409, {"detail": "username is already taken"})
    assert client.get(f"/users/{other['id']}").json() == other


def test_twenty_simultaneous_creates_of_one_username_give_one_201(api_server: RunningApi) -> None:
    username = unique("race")
    start = threading.Barrier(20)

    def create(attempt: int) -> httpx.Response:
        with httpx.Client(base_url=api_server.base_url, timeout=30) as client:
            start.wait()
            email = f"{username}-{attempt}@example.com"
            return client.post("/users", json=user_body(username=username, email=email))

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
            body = user_body(username=spellings[number], email=f"{base}-{number}@example.com")
            return client.post("/users", json=body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(create, range(20)))

    assert sorted(response.status_code for response in responses) == [201] + [409] * 19
    conflicts = [response.json() for response in responses if response.status_code == 409]
    assert all(body == {"detail": "username is already taken"} for body in conflicts)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("username", "x" * 51, "at most 50 characters"),
        ("username", None, "may be omitted, but not null"),
        ("email", "not-an-email", "email"),
        ("email", None, "may be omitted, but not null"),
    ],
)
def test_a_bad_patch_names_its_field_once_in_words(
    client: httpx.Client, field: str, value: Any, why: str
) -> None:
    user = create_user(client)
    response = client.patch(f"/users/{user['id']}", json={field: value})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert why in error["msg"]


HIDING_OR_PASSING = [
    *("Zoe\u200dx", "\u202eZoe", "Zoe ", " Zoe", "Zo\u00a0e", "Zo\te"),
    # Each of these once made a user beside "admin" or "bob" (docs/api.md says why not).
    *("ad\u034fmin", "admin\ufe0f", "admin\u3164", "\u115fadmin", "admin\u17b4", "admin\u2800"),
    *("\u0430dmin", "b\u03bfb", "a" + "\u0301" * 49, "\u0301", "victim\u034f"),
]


@pytest.mark.parametrize("name", HIDING_OR_PASSING, ids=ascii)
def test_a_username_that_could_pass_for_another_is_422_saying_why(
    client: httpx.Client, name: str
) -> None:
    user = create_user(client)
    for response in (
        client.post("/users", json=user_body(username=name, email=f"{unique()}@example.com")),
        client.patch(f"/users/{user['id']}", json={"username": name}),
    ):
        assert_validation_error(response, "username")
        (error,) = response.json()["detail"]
        assert "must not" in error["msg"]


def test_the_api_writes_each_username_s_key(client: httpx.Client, api_database: URL) -> None:
    user = create_user(client, username=unique("Straße"))
    renamed = unique("\uff3aoe")  # a fullwidth Z
    client.patch(f"/users/{user['id']}", json={"username": renamed})
    with connect(api_database) as db:
        row = db.execute("SELECT username_key FROM users WHERE id = %s", (user["id"],)).fetchone()
    assert row is not None
    assert row[0] == username_key(renamed) == renamed.replace("\uff3a", "z").lower()


LOOK_ALIKES = [
    ("Jos\u00e9", "Jose\u0301"),  # composed, and e + a combining accent
    ("Zoe", "\uff3aoe"),  # a fullwidth Z
    ("stra\u00dfe", "STRASSE"),  # full case folding: PostgreSQL's lower() keeps the ß
    ("Ada", "ADA"),
]


@pytest.mark.parametrize(("first", "second"), LOOK_ALIKES)
def test_names_that_look_alike_are_one_user_shown_as_first_given(
    client: httpx.Client, first: str, second: str
) -> None:
    tag = unique("")
    user = create_user(client, username=first + tag)
    other = create_user(client)
    taken = (
        client.post("/users", json=user_body(username=second + tag, email=f"{unique()}@x.org")),
        client.patch(f"/users/{other['id']}", json={"username": second + tag}),
    )
    for response in taken:
        assert response.status_code == 409, response.text
        assert response.json()["detail"] == "username is already taken"
    assert client.get(f"/users/{user['id']}").json()["username"] == first + tag
    # Its owner may respell it: the same identity is not "another user's".
    renamed = client.patch(f"/users/{user['id']}", json={"username": second + tag})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["username"] == second + tag


def test_a_dotted_capital_i_is_a_letter_of_its_own(client: httpx.Client) -> None:
    """Case folding keeps İ's dot (i + U+0307), where lower() in most locales dropped it:
    İstanbul and istanbul are two users, as in Unicode and RFC 8265."""
    tag = unique("")
    dotted = create_user(client, username=f"\u0130stanbul{tag}")
    plain = create_user(client, username=f"istanbul{tag}")
    assert dotted["id"] != plain["id"]
    assert dotted["username"] == f"\u0130stanbul{tag}"


@pytest.mark.parametrize(
    ("local", "status"), [("a" * 64, 201), ("a" * 65, 422), ("é" * 32, 201), ("é" * 33, 422)]
)
def test_an_email_local_part_is_at_most_64_bytes(
    client: httpx.Client, local: str, status: int
) -> None:
    email = f"{local}@{unique()}.example.com"
    response = client.post("/users", json=user_body(username=unique(), email=email))
    assert response.status_code == status, response.text
    if status == 422:
        assert_validation_error(response, "email")
