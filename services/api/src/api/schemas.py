"""The API's request and response bodies; their limits mirror the columns in shared_models."""

from datetime import datetime
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from shared_models.post import TITLE_MAX_LENGTH
from shared_models.user import BIO_MAX_LENGTH, EMAIL_MAX_LENGTH, USERNAME_MAX_LENGTH

# PostgreSQL text cannot hold NUL; refusing it here keeps it a 422, not a 500.
NO_NUL = r"^[^\x00]*$"

Username = Annotated[
    str, StringConstraints(min_length=1, max_length=USERNAME_MAX_LENGTH, pattern=NO_NUL)
]
Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH)]
Bio = Annotated[str, StringConstraints(max_length=BIO_MAX_LENGTH, pattern=NO_NUL)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX_LENGTH, pattern=NO_NUL)]
Content = Annotated[str, StringConstraints(min_length=1, pattern=NO_NUL)]


class Input(BaseModel):
    # A misspelt field is a client bug worth reporting, not something to drop silently.
    model_config = ConfigDict(extra="forbid")


class UserCreate(Input):
    username: Username
    email: Email
    bio: Bio | None = None


class Update(Input):
    """Partial update: omitted fields stay as they are; only nullable columns take null."""

    @model_validator(mode="after")
    def _no_null_for_required_columns(self) -> Self:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable_fields:
                raise ValueError(f"{name} may be omitted but not null")
        return self

    nullable_fields: ClassVar[frozenset[str]] = frozenset()


# `X | SkipJsonSchema[None] = None`: "may be omitted" without advertising null in OpenAPI.
class UserUpdate(Update):
    nullable_fields = frozenset({"bio"})

    username: Username | SkipJsonSchema[None] = None
    email: Email | SkipJsonSchema[None] = None
    bio: Bio | None = None  # null clears the bio


class PostCreate(Input):
    title: Title
    content: Content


class PostUpdate(Update):
    title: Title | SkipJsonSchema[None] = None
    content: Content | SkipJsonSchema[None] = None


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(Output):
    id: int
    username: str
    email: str
    bio: str | None


class PostOut(Output):
    id: int
    title: str
    content: str
    user_id: int
    date_posted: datetime


class ErrorOut(BaseModel):
    detail: str = Field(examples=["User not found"])


class Message(BaseModel):
    message: str


class Health(BaseModel):
    status: str = Field(examples=["ok"])
