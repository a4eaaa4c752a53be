"""A user's request and response bodies; their limits mirror the columns of the model."""

from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, SecretStr, StringConstraints

from api.accounts.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from api.accounts.passwords import refusal as password_refusal
from api.http.schemas import NO_NUL, OMITTED, Input, Output, Update
from shared_models.identity import refusal
from shared_models.user import BIO_MAX_LENGTH, EMAIL_MAX_LENGTH, USERNAME_MAX_LENGTH


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
# RFC 5321, 4.5.3.1.1: a local part (before the @) of at most 64 octets.
LOCAL_PART_MAX_OCTETS = 64


def deliverable_local_part(email: str) -> str:
    local = email.rpartition("@")[0]
    if len(local.encode()) > LOCAL_PART_MAX_OCTETS:
        raise ValueError(f"the part before @ must be at most {LOCAL_PART_MAX_OCTETS} bytes")
    return email


Email = Annotated[
    EmailStr, Field(max_length=EMAIL_MAX_LENGTH), AfterValidator(deliverable_local_part)
]
Bio = Annotated[str, StringConstraints(max_length=BIO_MAX_LENGTH, pattern=NO_NUL)]


def acceptable(password: SecretStr) -> SecretStr:
    why = password_refusal(password.get_secret_value())
    if why is not None:
        raise ValueError(why)
    return password


# SecretStr: never shown by a repr or a log line. Its bounds are checked by
# ``acceptable``, in words that never repeat it; the document states them.
Password = Annotated[
    SecretStr,
    AfterValidator(acceptable),
    Field(
        json_schema_extra={
            "minLength": PASSWORD_MIN_LENGTH,
            "maxLength": PASSWORD_MAX_LENGTH,
            "format": "password",
            "writeOnly": True,
        }
    ),
]


class UserCreate(Input):
    username: Username
    email: Email
    bio: Bio | None = None
    password: Password


class UserUpdate(Update):
    nullable_fields = frozenset({"bio"})

    username: Annotated[Username | None, OMITTED] = None
    email: Annotated[Email | None, OMITTED] = None
    bio: Bio | None = None  # null clears the bio
    # A new password ends every token issued before it.
    password: Annotated[Password | None, OMITTED] = None


class UserOut(Output):
    id: int
    username: str
    email: str
    bio: str | None
