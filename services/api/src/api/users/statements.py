"""Every statement the /users routes run, compiled once at import (api.db.query) and
registered for the readiness check. Columns come from the model (api.db.columns)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert

from api.accounts.statements import HOLDS_TOKEN, ONE_MORE, ONE_MORE_WRITE, WITHIN_RATE
from api.db.columns import shown, written
from api.db.keyset import keyset
from api.db.query import Query, compiled
from api.db.readiness import in_use
from api.db.unique import UniqueRules
from shared_models import User

USER_COLUMNS = shown(User)
UNIQUE = UniqueRules(User.__table__, id_parameter="user_id")  # type: ignore[arg-type]

USER_BY_ID = in_use(compiled(select(*USER_COLUMNS).where(User.id == bindparam("user_id"))))
USER_EXISTS = in_use(compiled(select(exists().where(User.id == bindparam("user_id")))))
USERS_PAGE = in_use(compiled(keyset(USER_COLUMNS, User.id)))
# ON CONFLICT DO NOTHING: a taken name writes nothing, and logs no error (users.writes).
CREATE_USER = in_use(
    compiled(insert(User).on_conflict_do_nothing().returning(*USER_COLUMNS), written(User))
)
# Which unique field another user holds, when a write wrote nothing.
USER_TAKEN = in_use(compiled(UNIQUE.taken()))
# Only under a token still valid for this user: the guard is in the statement itself.
DELETE_USER = in_use(
    compiled(delete(User).where(User.id == bindparam("user_id"), HOLDS_TOKEN).returning(User.id))
)


def updating_user(changes: dict[str, Any]) -> Query:
    """An UPDATE of the columns a PATCH body sets, which writes nothing when another user
    holds a value it sets or the token is no longer valid: which columns varies, so it is
    built per request (PATCH is the rare write). A new password hash raises the
    token_version: every earlier token is refused from then on. Counted as one of the
    account's writes (api.accounts.budget), and refused past them."""
    statement = update(User).where(User.id == bindparam("user_id"), HOLDS_TOKEN, WITHIN_RATE)
    fields = changes.keys() & set(UNIQUE.fields)
    if fields:
        statement = statement.where(~UNIQUE.taken_by_another(fields))
    values: dict[str, Any] = {**ONE_MORE_WRITE, **{name: bindparam(name) for name in changes}}
    if "password_hash" in changes:
        values["token_version"] = ONE_MORE
    return compiled(statement.values(values).returning(*USER_COLUMNS))
