"""The request and response schemas cover the models' columns: a new column that a
schema forgets fails here, not in production."""

from pydantic import BaseModel

from api.db.columns import HIDDEN
from api.posts.schemas import PostCreate, PostOut, PostUpdate
from api.users.schemas import UserCreate, UserOut, UserUpdate
from shared_models import Base, Post, User

# Columns the server sets; clients never send them.
SERVER_SET = {"id", "date_posted"}
# Columns a URL gives (POST /users/{user_id}/posts); not in the body either.
FROM_THE_PATH = {"user_id"}
# Fields stored only as another, hidden column (password as password_hash).
STORED_HIDDEN = {"password"}


def columns(model: type[Base]) -> set[str]:
    """Every column but those hidden from clients (api.db.columns): the identities the API
    derives from another (username_key from username), which no client sends."""
    return {c.key for c in model.__table__.columns if not c.info.get(HIDDEN)}


def fields(schema: type[BaseModel]) -> set[str]:
    return set(schema.model_fields)


def test_responses_carry_every_column() -> None:
    assert fields(UserOut) == columns(User)
    assert fields(PostOut) == columns(Post)


def test_creates_and_updates_take_every_column_a_client_may_set() -> None:
    assert fields(UserCreate) == fields(UserUpdate) == columns(User) - SERVER_SET | STORED_HIDDEN
    writable_post = columns(Post) - SERVER_SET - FROM_THE_PATH
    assert fields(PostCreate) == fields(PostUpdate) == writable_post


def max_lengths(schema: type[BaseModel]) -> dict[str, int | None]:
    """Each field's maxLength, as the OpenAPI document states it."""
    properties = schema.model_json_schema()["properties"]
    lengths = {}
    for name, definition in properties.items():
        options = [definition, *definition.get("anyOf", [])]
        lengths[name] = next((o["maxLength"] for o in options if "maxLength" in o), None)
    return lengths


def test_limits_are_the_columns_lengths() -> None:
    for schema, model in ((UserCreate, User), (UserUpdate, User), (PostCreate, Post)):
        for name, limit in max_lengths(schema).items():
            if name in STORED_HIDDEN:
                continue
            column = model.__table__.columns[name]
            # A varchar's length, or what the model declares for a text column.
            length = getattr(column.type, "length", None) or column.info.get("max_length")
            assert limit == length, (schema.__name__, name)
