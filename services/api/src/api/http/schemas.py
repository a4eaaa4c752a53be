"""What every resource's request and response bodies share: unknown fields refused,
partial updates, and the error body."""

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# PostgreSQL text cannot hold NUL; refusing it here keeps it a 422, not a 500.
NO_NUL = r"^[^\x00]*$"


class Input(BaseModel):
    # A misspelt field is a client bug worth reporting, not something to drop silently.
    model_config = ConfigDict(extra="forbid")


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


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorOut(BaseModel):
    detail: str = Field(examples=["User not found"])
