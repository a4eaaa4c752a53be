"""The columns the API reads. Selecting these (not whole entities) keeps rows lean, and
/readyz probes exactly them, so "ready" means "the schema has what this code needs"."""

from datetime import datetime
from typing import Annotated

from fastapi import Path
from sqlalchemy import Row

from api.pagination import MAX_ID
from shared_models import Post, User

USER_COLUMNS = (User.id, User.username, User.email, User.bio)
POST_COLUMNS = (Post.id, Post.title, Post.content, Post.user_id, Post.date_posted)

UserId = Annotated[int, Path(gt=0, le=MAX_ID, description="The user's id.")]
PostId = Annotated[int, Path(gt=0, le=MAX_ID, description="The post's id.")]

UserRow = Row[int, str, str, str | None]
PostRow = Row[int, str, str, int, datetime]
