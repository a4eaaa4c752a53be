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
