"""A user's request and response bodies; their limits mirror the columns of the model."""

from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

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


class UserCreate(Input):
    username: Username
    email: Email
    bio: Bio | None = None


class UserUpdate(Update):
    nullable_fields = frozenset({"bio"})

    username: Annotated[Username | None, OMITTED] = None
    email: Annotated[Email | None, OMITTED] = None
    bio: Bio | None = None  # null clears the bio


class UserOut(Output):
    id: int
    username: str
    email: str
    bio: str | None
