"""Every field a client may write is stored, by create and by update: read back from
the database, not from the answer. The fields come from the request schemas and the
values from their JSON schema, so a column added to a model and its schema is checked
here without an edit: if its insert or update left it out, the test fails."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy.engine import URL

from api.accounts.passwords import hasher
from api.posts.schemas import PostCreate, PostUpdate
from api.settings import PasswordHashing
from api.users.schemas import UserCreate, UserUpdate
from harness.databases import connect
from harness.roles import as_owner
from tests.api.factories import create_user

pytestmark = pytest.mark.usefixtures("no_database_errors")

# A hash says its own cost: any hasher checks it.
CHECKER = hasher(PasswordHashing())


def sample(schema: type[BaseModel], field: str) -> Any:
    """A value the field takes, new each time, from what its JSON schema says."""
    definition = schema.model_json_schema()["properties"][field]
    options = [definition, *definition.get("anyOf", [])]
    kind = next(option for option in options if option.get("type") not in (None, "null"))
    token = secrets.token_hex(5)
    if kind.get("format") == "email":
        return f"w{token}@example.com"
    if kind["type"] == "string":
        return f"w{token}"[: kind.get("maxLength", 64)]
    if kind["type"] == "integer":
        return secrets.randbelow(1000) + 1
    if kind["type"] == "boolean":
        return True
    raise AssertionError(f"{schema.__name__}.{field}: no sample for {kind}: add one here")


@dataclass(frozen=True)
class Resource:
    table: str
    create: type[BaseModel]
    update: type[BaseModel]
    create_path: Callable[[httpx.Client], str]  # where POST goes
    path: str  # the resource's own path, {} for its id


RESOURCES = [
    Resource("users", UserCreate, UserUpdate, lambda client: "/users", "/users/{}"),
    Resource(
        "posts",
        PostCreate,
        PostUpdate,
        lambda client: f"/users/{create_user(client)['id']}/posts",
        "/posts/{}",
    ),
]


def stored(database: URL, table: str, row_id: int) -> dict[str, Any]:
    with connect(as_owner(database)) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", (row_id,))
        assert cursor.description is not None
        row = cursor.fetchone()
        assert row is not None
        return dict(zip((column.name for column in cursor.description), row, strict=True))


def body(schema: type[BaseModel]) -> dict[str, Any]:
    return {field: sample(schema, field) for field in schema.model_fields}


def written(row: dict[str, Any], field: str, value: Any) -> bool:
    """Whether the row holds what was sent: a password as a hash of it, never itself."""
    if field == "password":
        return "password" not in row and CHECKER.verify(value, row["password_hash"])
    return bool(row[field] == value)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.table)
def test_create_stores_every_field(
    client: httpx.Client, api_database: URL, resource: Resource
) -> None:
    sent = body(resource.create)
    response = client.post(resource.create_path(client), json=sent)
    assert response.status_code == 201, response.text
    row = stored(api_database, resource.table, response.json()["id"])
    assert all(written(row, field, value) for field, value in sent.items()), row


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.table)
def test_update_stores_each_field_alone(
    client: httpx.Client, api_database: URL, resource: Resource
) -> None:
    if resource.table == "users":  # made by the factory: it writes as its owner
        created = create_user(client, **body(resource.create))
    else:
        created = client.post(resource.create_path(client), json=body(resource.create)).json()
    # The password last: it ends the token the others are written with.
    fields = sorted(resource.update.model_fields, key=lambda name: name == "password")
    for field in fields:
        value = sample(resource.update, field)
        response = client.patch(resource.path.format(created["id"]), json={field: value})
        assert response.status_code == 200, response.text
        assert written(stored(api_database, resource.table, created["id"]), field, value), field
