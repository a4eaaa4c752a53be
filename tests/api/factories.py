"""Create resources over HTTP with unique names, so tests sharing one database never collide."""

import secrets
from typing import Any

import httpx


def unique(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def create_user(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    name = unique()
    body = {"username": name, "email": f"{name}@example.com", **fields}
    response = client.post("/users", json=body)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def create_post(client: httpx.Client, user_id: int, **fields: Any) -> dict[str, Any]:
    body = {"title": "A title", "content": "Some content", **fields}
    response = client.post(f"/users/{user_id}/posts", json=body)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post
