"""Every statement the posts routes run, compiled once at import (api.db.query) and
registered for the readiness check. Columns come from the model (api.db.columns)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)

from api.accounts.statements import (
    HOLDS_TOKEN,
    ONE_MORE_WRITE,
    WITHIN_RATE,
    within_stored_bytes,
)
from api.db.columns import shown, written
from api.db.keyset import keyset
from api.db.query import Query, compiled
from api.db.readiness import in_use
from shared_models import Post, User

POST_COLUMNS = shown(Post)
# A post's bytes as stored (octet_length reads a toasted value's size without fetching
# it): what a page of posts is budgeted by.
POST_BYTES = func.octet_length(Post.title) + func.octet_length(Post.content)


def given(name: str) -> Any:
    """A parameter for the post's column ``name``, typed as the column."""
    return bindparam(name, type_=Post.__table__.c[name].type)


def counted_write(*guards: ColumnElement[bool]) -> Any:
    """The author's row, updated to count one write within their budget: only under a
    token still valid, within the write rate and with ``guards`` holding. Its row lock
    keeps the author from being deleted meanwhile, and makes one account's concurrent
    writes take turns (api.accounts.statements)."""
    return (
        update(User)
        .where(User.id == bindparam("author"), HOLDS_TOKEN, WITHIN_RATE, *guards)
        .values(ONE_MORE_WRITE)
        .returning(User.id)
        .cte("author")
    )


POST_BY_ID = in_use(compiled(select(*POST_COLUMNS).where(Post.id == bindparam("post_id"))))
POSTS_PAGE = in_use(compiled(keyset(POST_COLUMNS, Post.id, size=POST_BYTES)))
POSTS_BY_USER_PAGE = in_use(
    compiled(keyset(POST_COLUMNS, Post.id, Post.user_id == bindparam("user_id"), size=POST_BYTES))
)
# Written by its author only if the author is counted (counted_write): an unknown
# author, a token issued before a password change or a spent budget writes nothing and
# logs no error. The trigger of revision a4c1e9d27b53 then adds the post's bytes.
_CREATING_AUTHOR = counted_write(within_stored_bytes(bindparam("growth", type_=BigInteger)))
CREATE_POST = in_use(
    compiled(
        insert(Post)
        .from_select(
            list(written(Post)),
            select(
                *(_CREATING_AUTHOR.c.id if name == "user_id" else given(name)
                  for name in written(Post))
            ),
        )
        .add_cte(_CREATING_AUTHOR)
        .returning(*POST_COLUMNS)
    )
)  # fmt: skip
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
    """An UPDATE of the columns a PATCH body sets, counted as a write of its author, whose
    posts may grow by it only within their bytes: which columns varies, so it is built per
    request (PATCH is the rare write)."""
    title = given("title") if "title" in changes else Post.title
    content = given("content") if "content" in changes else Post.content
    new_size = func.octet_length(title) + func.octet_length(content)
    growth = (
        select(new_size - POST_BYTES)
        .where(Post.id == bindparam("post_id"), BY_ITS_AUTHOR)
        .scalar_subquery()
    )
    author = counted_write(within_stored_bytes(growth))
    values: dict[str, Any] = {name: given(name) for name in changes}
    statement = (
        update(Post)
        .where(Post.id == bindparam("post_id"), Post.user_id == author.c.id)
        .values(values)
        .add_cte(author)
    )
    return compiled(statement.returning(*POST_COLUMNS))
