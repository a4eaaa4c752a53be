"""Every statement the posts routes run, compiled once at import (api.db.query) and
registered for the readiness check. Columns come from the model (api.db.columns)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, func, insert, select, update

from api.accounts.statements import HOLDS_TOKEN
from api.db.columns import shown, written
from api.db.keyset import keyset
from api.db.query import Query, compiled
from api.db.readiness import in_use
from shared_models import Post, User

POST_COLUMNS = shown(Post)
# A post's bytes as stored (octet_length reads a toasted value's size without fetching
# it): what a page of posts is budgeted by.
POST_BYTES = func.octet_length(Post.title) + func.octet_length(Post.content)


def author_or_given(name: str) -> Any:
    """What CREATE_POST writes into a column: the author's id as read, else a parameter."""
    column = Post.__table__.c[name]
    return User.id if name == "user_id" else bindparam(name, type_=column.type)


POST_BY_ID = in_use(compiled(select(*POST_COLUMNS).where(Post.id == bindparam("post_id"))))
POSTS_PAGE = in_use(compiled(keyset(POST_COLUMNS, Post.id, size=POST_BYTES)))
POSTS_BY_USER_PAGE = in_use(
    compiled(keyset(POST_COLUMNS, Post.id, Post.user_id == bindparam("user_id"), size=POST_BYTES))
)
# The author's row is read and kept (FOR KEY SHARE: it cannot be deleted meanwhile), so
# an unknown author writes nothing, and no foreign key error; nor does a token issued
# before the author's last password change.
CREATE_POST = in_use(
    compiled(
        insert(Post)
        .from_select(
            list(written(Post)),
            select(*(author_or_given(name) for name in written(Post)))
            .where(User.id == bindparam("user_id"), HOLDS_TOKEN)
            .with_for_update(read=True, key_share=True),
        )
        .returning(*POST_COLUMNS)
    )
)
# A post changes only by its author, under a token still valid: in the write itself.
BY_ITS_AUTHOR: ColumnElement[bool] = Post.user_id == bindparam("author")
AUTHOR_HOLDS_TOKEN = exists().where(User.id == bindparam("author"), HOLDS_TOKEN)
DELETE_POST = in_use(
    compiled(
        delete(Post)
        .where(Post.id == bindparam("post_id"), BY_ITS_AUTHOR, AUTHOR_HOLDS_TOKEN)
        .returning(Post.id)
    )
)
# Why a change of a post wrote nothing: no such post, or another author's.
POST_AUTHOR = in_use(compiled(select(Post.user_id).where(Post.id == bindparam("post_id"))))


def updating_post(changes: dict[str, Any]) -> Query:
    """An UPDATE of the columns a PATCH body sets: which varies, so it is built per
    request (PATCH is the rare write)."""
    values: dict[str, Any] = {name: bindparam(name) for name in changes}
    statement = (
        update(Post)
        .where(Post.id == bindparam("post_id"), BY_ITS_AUTHOR, AUTHOR_HOLDS_TOKEN)
        .values(values)
    )
    return compiled(statement.returning(*POST_COLUMNS))
