"""Every statement the endpoints run: written with SQLAlchemy Core, compiled once at
import for asyncpg, and run on the driver (api.db).

Per request only the parameters change: no statement is built, compiled or hashed, and
asyncpg reuses the statement it prepared on that connection. Building and executing
statements through SQLAlchemy per request cost more than half the API's CPU on a
single-row read (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from api.columns import POST_COLUMNS, USER_COLUMNS
from api.db.query import Query
from api.pagination import keyset
from api.schemas import UserCreate
from api.uniqueness import UNIQUE_FIELDS, taken, taken_by_another
from shared_models import Post, User

DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


def compiled(statement: ClauseElement, columns: Iterable[str] | None = None) -> Query:
    """The statement's SQL for asyncpg, and its parameter names in order (for an INSERT,
    the columns given)."""
    sql = statement.compile(dialect=DIALECT, column_keys=list(columns) if columns else None)
    assert isinstance(sql, SQLCompiler)
    return Query(str(sql), tuple(sql.positiontup or ()))


def updating(
    model: Any,
    returning: Sequence[Any],
    id_name: str,
    changes: dict[str, Any],
    unless: ColumnElement[bool] | None = None,
) -> Query:
    """An UPDATE of the columns a PATCH body sets, only where ``unless`` does not hold:
    which columns varies, so it is built per request (PATCH is the rare write)."""
    statement = update(model).where(model.id == bindparam(id_name))
    if unless is not None:
        statement = statement.where(~unless)
    return compiled(
        statement.values({name: bindparam(name) for name in changes}).returning(*returning)
    )


def updating_user(changes: dict[str, Any]) -> Query:
    """A user's UPDATE, which writes nothing when another user holds a value it sets."""
    fields = changes.keys() & set(UNIQUE_FIELDS)
    unless = taken_by_another(fields) if fields else None
    return updating(User, USER_COLUMNS, "user_id", changes, unless)


# Everything /readyz prepares: every statement the code runs, so "ready" means "the
# schema has every column and table this code uses" (and extra ones do no harm).
ALL: list[Query] = []


def register(query: Query) -> Query:
    ALL.append(query)
    return query


# A post's bytes, as PostgreSQL stores them (octet_length reads a toasted value's size
# without fetching it): what a page of posts is budgeted by.
POST_BYTES = func.octet_length(Post.title) + func.octet_length(Post.content)

USER_BY_ID = register(compiled(select(*USER_COLUMNS).where(User.id == bindparam("user_id"))))
USER_EXISTS = register(compiled(select(exists().where(User.id == bindparam("user_id")))))
USERS_PAGE = register(compiled(keyset(USER_COLUMNS, User.id)))
# ON CONFLICT DO NOTHING: a taken name writes nothing, and no error (api.uniqueness).
CREATE_USER = register(
    compiled(
        pg_insert(User).on_conflict_do_nothing().returning(*USER_COLUMNS),
        columns=[*UserCreate.model_fields, "username_key"],
    )
)
USER_TAKEN = register(compiled(taken()))
DELETE_USER = register(
    compiled(delete(User).where(User.id == bindparam("user_id")).returning(User.id))
)

POST_BY_ID = register(compiled(select(*POST_COLUMNS).where(Post.id == bindparam("post_id"))))
POSTS_PAGE = register(compiled(keyset(POST_COLUMNS, Post.id, size=POST_BYTES)))
POSTS_BY_USER_PAGE = register(
    compiled(keyset(POST_COLUMNS, Post.id, Post.user_id == bindparam("user_id"), size=POST_BYTES))
)
# The author's row is read and kept (FOR KEY SHARE: it cannot be deleted meanwhile), so
# an unknown author writes nothing, and no foreign key error.
CREATE_POST = register(
    compiled(
        insert(Post)
        .from_select(
            ["title", "content", "user_id"],
            select(
                bindparam("title", type_=Post.title.type),
                bindparam("content", type_=Post.content.type),
                User.id,
            )
            .where(User.id == bindparam("user_id"))
            .with_for_update(read=True, key_share=True),
        )
        .returning(*POST_COLUMNS)
    )
)
DELETE_POST = register(
    compiled(delete(Post).where(Post.id == bindparam("post_id")).returning(Post.id))
)
