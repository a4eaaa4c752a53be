"""A contract smoke suite that any version of the API must pass: plain HTTP, nothing
imported from the app, so it can judge code older (or newer) than the tests."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

MAX_ID = 2**63 - 1
PASSWORD = "smoke test passphrase"


class Smoke:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def expect(self, response: httpx.Response, status: int, what: str) -> Any:
        if response.status_code != status:
            self.failures.append(
                f"{what}: {response.request.method} {response.request.url.path} answered "
                f"{response.status_code}, not {status}: {response.text[:200]}"
            )
            return None
        return response.json() if response.content else None


def create(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    """POST /users with a password; again without, for an api from before accounts
    (which refuses the unknown field)."""
    response = client.post("/users", json={**body, "password": PASSWORD})
    if response.status_code == 422 and '"password"' in response.text:
        response = client.post("/users", json=body)
    return response


def contract_smoke(base_url: str) -> list[str]:
    """Create, read, list with paging, update, delete, a duplicate and a missing user;
    the failures, if any."""
    smoke = Smoke()
    name = f"smoke-{secrets.token_hex(5)}"
    with httpx.Client(base_url=base_url, timeout=15) as client:
        smoke.expect(client.get("/readyz"), 200, "ready")
        user = smoke.expect(
            create(client, {"username": name, "email": f"{name}@example.com"}),
            201, "create a user",
        )  # fmt: skip
        if user is None:
            return smoke.failures
        user_id = user["id"]
        # An api with accounts (POST /token) writes only with the owner's token; one from
        # before them has no /token (404) and ignores the header.
        login = client.post("/token", data={"username": name, "password": PASSWORD})
        if login.status_code != 404:
            token = smoke.expect(login, 200, "log in")
            if token is not None:
                client.headers["Authorization"] = f"Bearer {token['access_token']}"
        read = smoke.expect(client.get(f"/users/{user_id}"), 200, "read the user")
        if read is not None and read["username"] != name:
            smoke.failures.append(f"read the user: got {read}")
        duplicate = {"username": name, "email": f"other-{name}@example.com"}
        smoke.expect(create(client, duplicate), 409, "a taken username")

        posts = [
            smoke.expect(
                client.post(f"/users/{user_id}/posts", json={"title": f"t{i}", "content": "c"}),
                201, "create a post",
            )
            for i in range(3)
        ]  # fmt: skip
        first = client.get(f"/users/{user_id}/posts", params={"limit": 2})
        page = smoke.expect(first, 200, "list a page of posts")
        following = first.links.get("next")
        if page is None or len(page) != 2 or following is None:
            smoke.failures.append(f"first page of 2 with a next link: {first.text[:200]}")
        else:
            rest = client.get(following["url"])
            tail = smoke.expect(rest, 200, "follow the next link")
            ids = [post["id"] for post in [*page, *(tail or [])]]
            if ids != [post["id"] for post in posts if post] or "next" in rest.links:
                smoke.failures.append(f"paging gave {ids}")

        updated = smoke.expect(
            client.patch(f"/users/{user_id}", json={"bio": "updated"}), 200, "update the user"
        )
        if updated is not None and updated.get("bio") != "updated":
            smoke.failures.append(f"update the user: got {updated}")
        smoke.expect(client.get(f"/users/{MAX_ID}"), 404, "a missing user")
        if posts[0] is not None:
            deleted = client.delete(f"/posts/{posts[0]['id']}")
            if deleted.status_code != 204:
                smoke.failures.append(f"delete a post: {deleted.status_code}")
        if client.delete(f"/users/{user_id}").status_code != 204:
            smoke.failures.append("delete the user")
        smoke.expect(client.get(f"/users/{user_id}"), 404, "the deleted user is gone")
    return smoke.failures
