"""Create resources over HTTP with unique names, so tests sharing one database never
collide; and act as their owner: ``AS_OWNER`` logs in as the user a write's URL names
(or the author of the post it names), once, when a request carries no Authorization of
its own. Access control itself is tried by tests/api/accounts, without it."""

import re
import secrets
from collections.abc import Generator
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from harness.roles import as_owner

# Not a common password (api.accounts.passwords), at least 8 characters.
PASSWORD = "factory-made passphrase"


def unique(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def user_body(**fields: Any) -> dict[str, Any]:
    """A new user's body, with a unique name and the factories' password."""
    name = unique()
    return {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **fields}


def create_user(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = user_body(**fields)
    response = client.post("/users", json=body)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    AS_OWNER.passwords[user["id"]] = (user["username"], body["password"])
    return user


def user_before_accounts(database: URL) -> str:
    """A user as the schema before accounts left them, no password hash: its name."""
    name = unique("old")
    engine = create_engine(as_owner(database))
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (username, username_key, email) VALUES (:n, :k, :e)"),
            {"n": name, "k": name, "e": f"{name}@example.org"},
        )
    engine.dispose()
    return name


def create_post(client: httpx.Client, user_id: int, **fields: Any) -> dict[str, Any]:
    body = {"title": "A title", "content": "Some content", **fields}
    response = client.post(f"/users/{user_id}/posts", json=body, auth=AS_OWNER)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


def log_in(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """An access token, by the OAuth2 password grant."""
    response = client.post(
        "/token", data={"username": username, "password": password}, auth=httpx.Auth()
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


OWNED = re.compile(r"^/(users|posts)/(\d+)")


class AsOwner(httpx.Auth):
    """A write as the owner of what its URL names, when the factories made that user (a
    post's author is learnt from the 201 that created it); other requests go as they
    are. Tokens are kept per server (each has its own keys), renewed on a 401."""

    def __init__(self) -> None:
        self.passwords: dict[int, tuple[str, str]] = {}
        self.tokens: dict[tuple[str, int], str] = {}
        self.authors: dict[int, int] = {}

    def owner(self, request: httpx.Request) -> int | None:
        match = OWNED.match(request.url.path)
        if match is None or request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        number = int(match[2])
        return number if match[1] == "users" else self.authors.get(number)

    def log_in(self, base: str, user_id: int) -> Generator[httpx.Request, httpx.Response, None]:
        username, password = self.passwords[user_id]
        form = {"username": username, "password": password}
        response = yield httpx.Request("POST", base + "/token", data=form)
        response.read()
        if response.status_code == 200:
            self.tokens[base, user_id] = response.json()["access_token"]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        owner = self.owner(request)
        base = f"{request.url.scheme}://{request.url.netloc.decode()}"
        signed = owner in self.passwords and "Authorization" not in request.headers
        if signed and owner is not None:
            if (base, owner) not in self.tokens:
                yield from self.log_in(base, owner)
            request.headers["Authorization"] = f"Bearer {self.tokens.get((base, owner), '')}"
        response = yield request
        if signed and owner is not None and response.status_code == 401:
            yield from self.log_in(base, owner)  # expired since: once more, anew
            request.headers["Authorization"] = f"Bearer {self.tokens.get((base, owner), '')}"
            response = yield request
        if request.method == "POST" and response.status_code == 201 and owner is not None:
            response.read()
            post = response.json()
            self.authors[post["id"]] = post["user_id"]


AS_OWNER = AsOwner()


def assert_validation_error(response: httpx.Response, field: str) -> None:
    """A 422 in the documented shape (HTTPValidationError): a list of errors, each with
    ``loc``, ``msg`` and ``type``, one of them about ``field`` of the body."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    for error in detail:
        assert isinstance(error["loc"], list), error
        assert isinstance(error["msg"], str), error
        assert isinstance(error["type"], str), error
    assert any(error["loc"][:2] == ["body", field] for error in detail), detail
