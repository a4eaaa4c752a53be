"""The statements of logging in and of a refused write's reason, compiled once at import
and registered for the readiness check."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Integer, bindparam, func, literal_column, select

from api.db.query import compiled
from api.db.readiness import in_use
from shared_models import User

# A user made before accounts has a NULL token_version: it reads as 0.
# Literals in the SQL, not parameters: api.db.query passes only the named ones.
TOKEN_VERSION = func.coalesce(User.token_version, literal_column("0"))
ONE_MORE = TOKEN_VERSION + literal_column("1")


# A write's guard, in the write's own statement (no extra round trip), on the token's
# user's row: its token_version is still the one the token was issued under.
HOLDS_TOKEN: ColumnElement[bool] = bindparam("claimed_version", type_=Integer) == TOKEN_VERSION


ACCOUNT_BY_USERNAME = in_use(
    compiled(
        select(User.id, User.password_hash, TOKEN_VERSION.label("token_version")).where(
            User.username_key == bindparam("username_key")
        )
    )
)
# Why a write wrote nothing: the token's user gone or its version moved on (a 401).
ACCOUNT_VERSION = in_use(compiled(select(TOKEN_VERSION).where(User.id == bindparam("account_id"))))
