"""Who may write what, over HTTP against the real app and database: every write route x
{no token, malformed, expired, another user's, the owner's}, each refused one leaving
the database as it was; then tokens as an attacker makes them."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy.engine import URL

from harness.processes import RunningApi
from tests.api.factories import PASSWORD, bearer, log_in, unique, user_before_accounts, user_body


@dataclass
class Owner:
    user: dict[str, Any]
    token: str
    post: dict[str, Any]


@pytest.fixture
def anonymous(api_server: RunningApi) -> Iterator[httpx.Client]:
    """A client that adds no token of its own."""
    with httpx.Client(base_url=api_server.base_url, timeout=30) as http:
        yield http


def make_owner(client: httpx.Client) -> Owner:
    created = client.post("/users", json=user_body())
    assert created.status_code == 201, created.text
    user = created.json()
    token = log_in(client, user["username"])
    post = client.post(
        f"/users/{user['id']}/posts", json={"title": "t", "content": "c"}, headers=bearer(token)
    )
    assert post.status_code == 201, post.text
    return Owner(user, token, post.json())


def keys_of(api: RunningApi) -> tuple[str, bytes]:
    """The running api's newest key (harness.processes writes the file beside its log)."""
    path = next(Path(api.log_path).parent.glob(f"token-keys-{api.base_url.rsplit(':', 1)[1]}"))
    kid, key = path.read_text().splitlines()[0].split(" ", 1)
    return kid, key.encode()


def signed(api: RunningApi, **claims: Any) -> str:
    kid, key = keys_of(api)
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})


def state(client: httpx.Client, owner: Owner) -> tuple[Any, ...]:
    """What the writes could change: the user, their posts."""
    user = client.get(f"/users/{owner.user['id']}")
    posts = client.get(f"/users/{owner.user['id']}/posts")
    return user.status_code, user.text, posts.status_code, posts.text


# Each write route: (method, url of the owner's resource, body).
WRITES: dict[str, Callable[[Owner], tuple[str, str, dict[str, Any] | None]]] = {
    "patch user": lambda o: ("PATCH", f"/users/{o.user['id']}", {"bio": "changed"}),
    "delete user": lambda o: ("DELETE", f"/users/{o.user['id']}", None),
    "create post": lambda o: (
        "POST",
        f"/users/{o.user['id']}/posts",
        {"title": "new", "content": "c"},
    ),
    "patch post": lambda o: ("PATCH", f"/posts/{o.post['id']}", {"title": "changed"}),
    "delete post": lambda o: ("DELETE", f"/posts/{o.post['id']}", None),
}
OK = {"patch user": 200, "delete user": 204, "create post": 201, "patch post": 200}


def credentials(kind: str, api: RunningApi, owner: Owner, other: Owner) -> dict[str, str]:
    if kind == "none":
        return {}
    if kind == "malformed":
        return {"Authorization": "Bearer not.a.token"}
    if kind == "expired":
        past = int(time.time()) - 3600
        token = signed(api, sub=str(owner.user["id"]), ver=0, iat=past - 60, exp=past)
        return bearer(token)
    if kind == "another user's":
        return bearer(other.token)
    return bearer(owner.token)


EXPECTED = {"none": 401, "malformed": 401, "expired": 401, "another user's": 403}


@pytest.mark.parametrize("kind", ["none", "malformed", "expired", "another user's", "owner's"])
@pytest.mark.parametrize("route", sorted(WRITES))
def test_only_the_owner_writes(
    api_server: RunningApi, anonymous: httpx.Client, route: str, kind: str
) -> None:
    owner, other = make_owner(anonymous), make_owner(anonymous)
    before = state(anonymous, owner)
    method, url, body = WRITES[route](owner)
    headers = credentials(kind, api_server, owner, other)
    response = anonymous.request(method, url, json=body, headers=headers)
    expected = EXPECTED.get(kind, OK.get(route, 204))
    assert response.status_code == expected, response.text
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    if expected >= 400:
        assert state(anonymous, owner) == before
        assert "Traceback" not in response.text
    else:
        assert state(anonymous, owner) != before


def forged(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join(
        (part(json.dumps(header).encode()), part(json.dumps(payload).encode()), part(signature))
    )


def attack_tokens(api: RunningApi, owner: Owner) -> dict[str, str]:
    kid, _ = keys_of(api)
    now, sub = int(time.time()), str(owner.user["id"])
    claims = {"sub": sub, "ver": 0, "iat": now, "exp": now + 600}
    header, _, signature = owner.token.split(".")
    other_claims = {**claims, "sub": str(owner.user["id"] + 1)}
    tampered = base64.urlsafe_b64encode(json.dumps(other_claims).encode()).rstrip(b"=")
    return {
        "alg none": forged({"alg": "none", "typ": "JWT", "kid": kid}, claims),
        "HS256 with a public value": jwt.encode(
            claims, owner.user["email"], algorithm="HS256", headers={"kid": kid}
        ),
        "unknown kid": jwt.encode(claims, b"k" * 32, algorithm="HS256", headers={"kid": "nope"}),
        "no kid": jwt.encode(claims, keys_of(api)[1], algorithm="HS256"),
        "HS512 with our key": jwt.encode(
            claims, keys_of(api)[1], algorithm="HS512", headers={"kid": kid}
        ),
        "tampered payload": f"{header}.{tampered.decode()}.{signature}",
        "no version": signed(api, sub=sub, iat=now, exp=now + 600),
        "no expiry": signed(api, sub=sub, ver=0, iat=now),
    }


ATTACKS = [
    "alg none",
    "HS256 with a public value",
    "unknown kid",
    "no kid",
    "HS512 with our key",
    "tampered payload",
    "no version",
    "no expiry",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_forged_token_writes_nothing(
    api_server: RunningApi, anonymous: httpx.Client, attack: str
) -> None:
    owner = make_owner(anonymous)
    before = state(anonymous, owner)
    token = attack_tokens(api_server, owner)[attack]
    response = anonymous.patch(
        f"/users/{owner.user['id']}", json={"bio": "forged"}, headers=bearer(token)
    )
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert state(anonymous, owner) == before


def test_a_token_in_the_query_string_is_ignored(anonymous: httpx.Client) -> None:
    owner = make_owner(anonymous)
    url = f"/users/{owner.user['id']}"
    for name in ("access_token", "token"):
        response = anonymous.patch(url, params={name: owner.token}, json={"bio": "x"})
        assert response.status_code == 401
    assert anonymous.get(url).json()["bio"] is None


def test_a_100_kb_authorization_header_is_refused_and_writes_nothing(
    anonymous: httpx.Client,
) -> None:
    owner = make_owner(anonymous)
    before = state(anonymous, owner)
    huge = {"Authorization": "Bearer " + "a" * 100_000}
    try:
        status = anonymous.patch(
            f"/users/{owner.user['id']}", json={"bio": "x"}, headers=huge
        ).status_code
    except httpx.RemoteProtocolError:  # the server may close rather than answer
        status = 0
    assert status in (0, 400, 401, 431)
    assert state(anonymous, owner) == before


def test_a_password_change_ends_every_earlier_token(anonymous: httpx.Client) -> None:
    owner = make_owner(anonymous)
    second = log_in(anonymous, owner.user["username"])
    url = f"/users/{owner.user['id']}"
    new_password = "a brand new passphrase"
    changed = anonymous.patch(url, json={"password": new_password}, headers=bearer(owner.token))
    assert changed.status_code == 200, changed.text
    for stale in (owner.token, second):
        response = anonymous.patch(url, json={"bio": "stale"}, headers=bearer(stale))
        assert response.status_code == 401
        post_url = f"/posts/{owner.post['id']}"
        assert anonymous.delete(post_url, headers=bearer(stale)).status_code == 401
    assert anonymous.get(url).json()["bio"] is None
    # The old password no longer logs in; the new one does, and its token writes.
    refused = anonymous.post(
        "/token", data={"username": owner.user["username"], "password": PASSWORD}
    )
    assert refused.status_code == 401
    fresh = log_in(anonymous, owner.user["username"], new_password)
    assert anonymous.patch(url, json={"bio": "new"}, headers=bearer(fresh)).status_code == 200


def test_a_deleted_users_token_writes_nothing(anonymous: httpx.Client) -> None:
    owner = make_owner(anonymous)
    url = f"/users/{owner.user['id']}"
    assert anonymous.delete(url, headers=bearer(owner.token)).status_code == 204
    for method, path, body in (
        ("DELETE", url, None),
        ("PATCH", url, {"bio": "x"}),
        ("POST", f"{url}/posts", {"title": "t", "content": "c"}),
    ):
        response = anonymous.request(method, path, json=body, headers=bearer(owner.token))
        assert response.status_code == 401, (method, path, response.text)
    assert anonymous.get(url).status_code == 404


def test_login_answers_alike_for_an_unknown_user_and_a_wrong_password(
    anonymous: httpx.Client,
) -> None:
    owner = make_owner(anonymous)
    unknown = anonymous.post("/token", data={"username": unique(), "password": PASSWORD})
    wrong = anonymous.post(
        "/token", data={"username": owner.user["username"], "password": "not the password"}
    )
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
    assert unknown.status_code == 401
    assert unknown.headers["WWW-Authenticate"] == wrong.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_answers_as_rfc_6749_says(anonymous: httpx.Client) -> None:
    created = anonymous.post("/users", json=user_body())
    response = anonymous.post(
        "/token", data={"username": created.json()["username"], "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"


def test_a_user_made_before_accounts_cannot_log_in(
    anonymous: httpx.Client, api_database: URL
) -> None:
    name = user_before_accounts(api_database)
    for password in (PASSWORD, "", "x" * 8):
        response = anonymous.post("/token", data={"username": name, "password": password})
        assert response.status_code in (401, 422), response.text


def test_no_answer_or_log_line_carries_a_password_or_its_hash(logged_api: RunningApi) -> None:
    """Through the api as compose runs it (JSON lines, access log on)."""
    secret = "a-secret-only-this-test-knows-" + unique()
    body = user_body(password=secret)
    with httpx.Client(base_url=logged_api.base_url, timeout=30) as client:
        created = client.post("/users", json=body)
        refused = client.post("/users", json={**body, "password": secret + "x" * 200})
        short = client.post("/users", json={**user_body(), "password": "seven77"})
        token = client.post("/token", data={"username": body["username"], "password": secret})
        wrong = client.post("/token", data={"username": body["username"], "password": "seven77"})
    assert (created.status_code, token.status_code, wrong.status_code) == (201, 200, 401)
    for response in (created, refused, short, token, wrong):
        assert secret not in response.text
        assert "seven77" not in response.text
        assert "argon2" not in response.text
    assert refused.status_code == short.status_code == 422
    log = logged_api.log()
    assert "/token" in log  # the access lines are there to be searched
    assert "seven77" not in log
    assert secret not in log
    assert "$argon2" not in log
