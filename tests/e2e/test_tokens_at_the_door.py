"""Tokens as an attacker makes them, through compose.yaml's published HTTPS port: each
refused with the right status and nothing written (the same against the app alone:
tests/api/accounts/test_who_may_write.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from harness.compose import ComposeProject
from tests.api.accounts.test_who_may_write import WRITES, Owner, forged, make_owner, state
from tests.api.factories import PASSWORD, bearer, log_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(stack: ComposeProject) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def signing_key(stack: ComposeProject) -> tuple[str, bytes]:
    """The stack's newest key, read in the api's container (the file is the api's alone)."""
    keys = stack("exec", "-T", "api", "cat", "/run/secrets/token_signing_keys").stdout
    kid, key = keys.splitlines()[0].split(" ", 1)
    return kid, key.encode()


def attack_tokens(owner: Owner, signing_key: tuple[str, bytes]) -> dict[str, str]:
    kid, key = signing_key
    now, sub = int(time.time()), str(owner.user["id"])
    claims: dict[str, Any] = {"sub": sub, "ver": 0, "iat": now, "exp": now + 600}
    header, _, signature = owner.token.split(".")
    someone_else = {**claims, "sub": str(owner.user["id"] + 1)}
    tampered = forged({}, someone_else).split(".")[1]
    return {
        "alg none": forged({"alg": "none", "typ": "JWT", "kid": kid}, claims),
        "HS256 with a public value": jwt.encode(
            claims, owner.user["email"], algorithm="HS256", headers={"kid": kid}
        ),
        "unknown kid": jwt.encode(claims, b"k" * 32, algorithm="HS256", headers={"kid": "nope"}),
        "HS512 with our key": jwt.encode(claims, key, algorithm="HS512", headers={"kid": kid}),
        "expired": jwt.encode(
            {**claims, "iat": now - 3600, "exp": now - 60}, key, "HS256", headers={"kid": kid}
        ),
        "tampered payload": f"{header}.{tampered}.{signature}",
        "malformed": "not.a.token",
    }


ATTACKS = [
    "alg none",
    "HS256 with a public value",
    "unknown kid",
    "HS512 with our key",
    "expired",
    "tampered payload",
    "malformed",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_forged_token_writes_nothing(
    client: httpx.Client, signing_key: tuple[str, bytes], attack: str
) -> None:
    owner = make_owner(client)
    before = state(client, owner)
    token = attack_tokens(owner, signing_key)[attack]
    for route in sorted(WRITES):
        method, url, body = WRITES[route](owner)
        response = client.request(method, url, json=body, headers=bearer(token))
        assert response.status_code == 401, (route, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert state(client, owner) == before


def test_another_users_token_is_refused_on_every_write_route(client: httpx.Client) -> None:
    owner, other = make_owner(client), make_owner(client)
    before = state(client, owner)
    for route in sorted(WRITES):
        method, url, body = WRITES[route](owner)
        response = client.request(method, url, json=body, headers=bearer(other.token))
        assert response.status_code == 403, (route, response.text)
    assert state(client, owner) == before


def test_stale_tokens_and_tokens_out_of_place_write_nothing(client: httpx.Client) -> None:
    owner = make_owner(client)
    url = f"/users/{owner.user['id']}"
    before = state(client, owner)
    for name in ("access_token", "token"):  # in the query string: ignored
        assert client.patch(url, params={name: owner.token}, json={"bio": "x"}).status_code == 401
    try:  # past the door's 16 KiB head: a 400, or closed while the client still writes
        huge = client.patch(url, json={"bio": "x"}, headers=bearer("a" * 100_000)).status_code
    except (httpx.RemoteProtocolError, httpx.WriteError):
        huge = 0
    assert huge in (0, 400)
    assert state(client, owner) == before

    # A password change ends every token issued before it.
    changed = client.patch(
        url, json={"password": "a new passphrase 7"}, headers=bearer(owner.token)
    )
    assert changed.status_code == 200, changed.text
    assert client.patch(url, json={"bio": "x"}, headers=bearer(owner.token)).status_code == 401
    token = log_in(client, owner.user["username"], "a new passphrase 7")
    assert client.patch(url, json={"bio": "mine"}, headers=bearer(token)).status_code == 200

    # Deleting the user ends all of theirs.
    assert client.delete(url, headers=bearer(token)).status_code == 204
    again = client.request("POST", f"{url}/posts", json={"title": "t", "content": "c"},
                           headers=bearer(token))  # fmt: skip
    assert again.status_code == 401
    assert client.get(url).status_code == 404
    assert PASSWORD not in again.text


def test_guessing_one_name_is_slowed_by_the_api_through_the_door(client: httpx.Client) -> None:
    """LOGIN_FAILURES_PER_ACCOUNT (10) wrong passwords to one name from this address,
    then a 429 with Retry-After for it, the right password included (else guessing goes
    on); the same body for an unknown name, so the 429 says nothing of which exist."""
    owner = make_owner(client)
    name = owner.user["username"]

    def attempt(username: str, password: str) -> httpx.Response:
        return client.post("/token", data={"username": username, "password": password})

    for username in (name, f"{name}-nobody"):
        assert [attempt(username, f"guess {n}").status_code for n in range(10)] == [401] * 10
    refused = attempt(name, PASSWORD)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 900
    assert "access_token" not in refused.text
    unknown = attempt(f"{name}-nobody", PASSWORD)
    assert (unknown.status_code, unknown.json()) == (429, refused.json())
