"""The bodies are written by orjson straight from the rows (api.http.responses), not by
running the response models: they must say what the models would write, value for
value and text for text (timestamps included), so clients and the OpenAPI document
cannot tell the difference. The order of a body's keys is the table's."""

from __future__ import annotations

import httpx
import orjson
from pydantic import TypeAdapter

from api.posts.schemas import PostOut
from api.users.schemas import UserOut
from tests.api.factories import create_post, create_user


def test_single_rows_are_the_bytes_the_response_models_write(client: httpx.Client) -> None:
    user = create_user(client, bio='Écrit des compilateurs, 東京 \u2028 "quoted"')
    post = create_post(client, user["id"], title="Ünïcödé ✓", content="line\nbreak\ttab")
    for path, model in ((f"/users/{user['id']}", UserOut), (f"/posts/{post['id']}", PostOut)):
        body = client.get(path).content
        assert orjson.loads(body) == orjson.loads(model.model_validate_json(body).model_dump_json())


def test_pages_are_the_bytes_the_response_models_write(client: httpx.Client) -> None:
    user = create_user(client)
    for number in range(3):
        create_post(client, user["id"], title=f"Post {number} ✓")
    for path, model in (("/users", UserOut), (f"/users/{user['id']}/posts", PostOut)):
        body = client.get(path, params={"limit": 3}).content
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        assert orjson.loads(body) == orjson.loads(adapter.dump_json(adapter.validate_json(body)))
