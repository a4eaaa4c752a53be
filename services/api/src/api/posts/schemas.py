"""A post's request and response bodies; their limits mirror the columns of the model."""

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from api.http.schemas import NO_NUL, OMITTED, Input, Output, Update
from shared_models.post import CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH

Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX_LENGTH, pattern=NO_NUL)]
Content = Annotated[
    str, StringConstraints(min_length=1, max_length=CONTENT_MAX_LENGTH, pattern=NO_NUL)
]


class PostCreate(Input):
    title: Title
    content: Content


class PostUpdate(Update):
    title: Annotated[Title | None, OMITTED] = None
    content: Annotated[Content | None, OMITTED] = None


class PostOut(Output):
    id: int
    title: str
    content: str
    user_id: int
    date_posted: datetime
