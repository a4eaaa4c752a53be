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

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from api.columns import POST_COLUMNS, USER_COLUMNS
from api.db.query import Query
from api.pagination import keyset
from api.schemas import PostCreate, UserCreate
from shared_models import Post, User

DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


def compiled(statement: ClauseElement, columns: Iterable[str] | None = None) -> Query:
    """The statement's SQL for asyncpg, and its parameter names in order (for an INSERT,
    the columns given)."""
    sql = statement.compile(dialect=DIALECT, column_keys=list(columns) if columns else None)
    assert isinstance(sql, SQLCompiler)
    return Query(str(sql), tuple(sql.positiontup or ()))


def updating(model: Any, returning: Sequence[Any], id_name: str, changes: dict[str, Any]) -> Query:
    """An UPDATE of the columns a PATCH body sets: which they are varies, so it is built
    per request (PATCH is the rare write)."""
    statement = (
        update(model)
        .where(model.id == bindparam(id_name))
        .values({name: bindparam(name) for name in changes})
        .returning(*returning)
    )
    return compiled(statement)


# Everything /readyz prepares: every statement the code runs, so "ready" means "the
# schema has every column and table this code uses" (and extra ones do no harm).
ALL: list[Query] = []


def register(query: Query) -> Query:
    ALL.append(query)
    return query


USER_BY_ID = register(compiled(select(*USER_COLUMNS).where(User.id == bindparam("user_id"))))
USER_EXISTS = register(compiled(select(exists().where(User.id == bindparam("user_id")))))
USERS_PAGE = register(compiled(keyset(select(*USER_COLUMNS), User.id)))
CREATE_USER = register(
    compiled(insert(User).returning(*USER_COLUMNS), columns=UserCreate.model_fields)
)
DELETE_USER = register(
    compiled(delete(User).where(User.id == bindparam("user_id")).returning(User.id))
)

POST_BY_ID = register(compiled(select(*POST_COLUMNS).where(Post.id == bindparam("post_id"))))
POSTS_PAGE = register(compiled(keyset(select(*POST_COLUMNS), Post.id)))
POSTS_BY_USER_PAGE = register(
    compiled(keyset(select(*POST_COLUMNS).where(Post.user_id == bindparam("user_id")), Post.id))
)
CREATE_POST = register(
    compiled(insert(Post).returning(*POST_COLUMNS), columns=["user_id", *PostCreate.model_fields])
)
DELETE_POST = register(
    compiled(delete(Post).where(Post.id == bindparam("post_id")).returning(Post.id))
)
