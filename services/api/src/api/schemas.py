"""The API's request and response bodies; their limits mirror the columns in shared_models."""

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared_models.identity import refusal
from shared_models.post import CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH
from shared_models.user import BIO_MAX_LENGTH, EMAIL_MAX_LENGTH, USERNAME_MAX_LENGTH

# PostgreSQL text cannot hold NUL; refusing it here keeps it a 422, not a 500.
NO_NUL = r"^[^\x00]*$"


def visibly_distinct(username: str) -> str:
    """A username that cannot pass for another: shared_models.identity's refusal."""
    why = refusal(username)
    if why is not None:
        raise ValueError(why)
    return username


Username = Annotated[
    str,
    StringConstraints(min_length=1, max_length=USERNAME_MAX_LENGTH, pattern=NO_NUL),
    AfterValidator(visibly_distinct),
]
Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH)]
Bio = Annotated[str, StringConstraints(max_length=BIO_MAX_LENGTH, pattern=NO_NUL)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX_LENGTH, pattern=NO_NUL)]
Content = Annotated[
    str, StringConstraints(min_length=1, max_length=CONTENT_MAX_LENGTH, pattern=NO_NUL)
]


class Input(BaseModel):
    # A misspelt field is a client bug worth reporting, not something to drop silently.
    model_config = ConfigDict(extra="forbid")


class UserCreate(Input):
    username: Username
    email: Email
    bio: Bio | None = None


class NullNotAdvertised:
    """On a field typed ``X | None``: the document shows ``X`` alone. For partial updates,
    where None means "omitted" and a required column cannot take null. Nullable rather
    than a union with None, so a bad value is one error at the field, not one per union
    member."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        options = [option for option in schema.get("anyOf", ()) if option != {"type": "null"}]
        if len(options) == 1:
            kept = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
            schema = {**kept, **options[0]}
        return schema


OMITTED = NullNotAdvertised()


class Update(Input):
    """Partial update: omitted fields stay as they are; only nullable columns take null."""

    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _no_null_for_required_columns(cls, value: Any, info: ValidationInfo) -> Any:
        # Runs only for fields the body sets: an omitted one keeps its default.
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError("may be omitted, but not null")
        return value


class UserUpdate(Update):
    nullable_fields = frozenset({"bio"})

    username: Annotated[Username | None, OMITTED] = None
    email: Annotated[Email | None, OMITTED] = None
    bio: Bio | None = None  # null clears the bio


class PostCreate(Input):
    title: Title
    content: Content


class PostUpdate(Update):
    title: Annotated[Title | None, OMITTED] = None
    content: Annotated[Content | None, OMITTED] = None


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
