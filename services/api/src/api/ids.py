"""The ids in paths and query strings: positive integers that fit the bigint columns."""

from typing import Annotated

from fastapi import Path
from pydantic import Field

MAX_ID = 2**63 - 1  # the id columns are PostgreSQL bigints

UserId = Annotated[int, Path(gt=0, le=MAX_ID, description="The user's id.")]
PostId = Annotated[int, Path(gt=0, le=MAX_ID, description="The post's id.")]
AuthorId = Annotated[int, Field(gt=0, le=MAX_ID)]
