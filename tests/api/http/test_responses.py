"""The bodies are written by orjson straight from the rows (api/responses.py), not by
running the response models: they must be the very bytes the models would write, so
clients and the OpenAPI document cannot tell the difference."""

from __future__ import annotations

import httpx
from pydantic import TypeAdapter

from api.posts.schemas import PostOut
from api.users.schemas import UserOut
from tests.api.factories import create_post, create_user


def test_single_rows_are_the_bytes_the_response_models_write(client: httpx.Client) -> None:
    user = create_user(client, bio='Écrit des compilateurs, 東京 \u2028 "quoted"')
    post = create_post(client, user["id"], title="Ünïcödé ✓", content="line\nbreak\ttab")
    for path, model in ((f"/users/{user['id']}", UserOut), (f"/posts/{post['id']}", PostOut)):
        body = client.get(path).content
        assert body == model.model_validate_json(body).model_dump_json().encode(), path


def test_pages_are_the_bytes_the_response_models_write(client: httpx.Client) -> None:
    user = create_user(client)
    for number in range(3):
        create_post(client, user["id"], title=f"Post {number} ✓")
    for path, model in (("/users", UserOut), (f"/users/{user['id']}/posts", PostOut)):
        body = client.get(path, params={"limit": 3}).content
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        assert body == adapter.dump_json(adapter.validate_json(body)), path
