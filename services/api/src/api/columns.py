"""The columns the API reads: exactly the fields of its response schemas, so a column
added to a schema is selected, returned and probed by /readyz without another edit.
Selecting these (not whole entities) keeps rows lean, and /readyz probing exactly them
means "ready" is "the schema has what this code needs"."""

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import InstrumentedAttribute

from api.schemas import PostOut, UserOut
from shared_models import Base, Post, User


def columns_of(
    model: type[Base], schema: type[BaseModel]
) -> tuple[InstrumentedAttribute[Any], ...]:
    """The model's columns named by the schema's fields, in the schema's order."""
    return tuple(getattr(model, name) for name in schema.model_fields)


USER_COLUMNS = columns_of(User, UserOut)
POST_COLUMNS = columns_of(Post, PostOut)
