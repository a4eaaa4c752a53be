"""The one place that decides a user's writes: the insert or update, which unique field
is taken, the 409, and a retry when a value was released meanwhile. No check-then-insert:
the unique indexes decide, and a taken value writes nothing and logs no error."""

from __future__ import annotations

from typing import Any

from asyncpg import Record
from fastapi import HTTPException, status

from api.accounts.budget import WriteBudget
from api.accounts.security import unauthorized
from api.accounts.statements import ACCOUNT_VERSION
from api.db.pool import Pool
from api.http.database_errors import Answer
from api.users.statements import (
    CREATE_USER,
    DELETE_USER,
    UNIQUE,
    USER_TAKEN,
    updating_user,
)
from shared_models.identity import username_key

# A value taken, then released before the 409 could name it: the write is tried again.
ATTEMPTS = 3
CONFLICT = "conflicts with an existing resource"
TAKEN_USERNAME = Answer(409, "username is already taken")
TAKEN_EMAIL = Answer(409, "email is already taken")

# Only a race between two changes reaches a unique index's error: its constraint names
# the field. The older names are those of a database rolled back past their revisions.
CONSTRAINT_ANSWERS = {
    "uq_users_username_key": TAKEN_USERNAME,
    "uq_users_lower_username": TAKEN_USERNAME,
    "uq_users_username": TAKEN_USERNAME,
    "uq_users_lower_email": TAKEN_EMAIL,
    "uq_users_email": TAKEN_EMAIL,
}


def with_username_key(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the username's key beside the username (shared_models.identity):
    the API writes it with every username it stores."""
    if "username" not in values:
        return values
    return {**values, "username_key": username_key(values["username"])}


async def create_user(pool: Pool, fields: dict[str, Any]) -> Record:
    values = {**with_username_key(fields), "token_version": 0}
    for _ in range(ATTEMPTS):
        row = await pool.fetchrow(CREATE_USER, **values)
        if row is not None:
            return row
        await refuse_if_taken(pool, values, user_id=0)
    raise HTTPException(status.HTTP_409_CONFLICT, CONFLICT)


async def require_valid_token(pool: Pool, user_id: int, claimed_version: int) -> None:
    """A 401 when the token's user is gone, or its password changed since the token."""
    row = await pool.fetchrow(ACCOUNT_VERSION, account_id=user_id)
    if row is None or row[0] != claimed_version:
        raise unauthorized()


async def update_user(
    pool: Pool, user_id: int, fields: dict[str, Any], claimed_version: int, budget: WriteBudget
) -> Record:
    """The user as changed, by the owner of a token issued under ``claimed_version``."""
    changes = with_username_key(fields)
    statement = updating_user(changes)
    guard = {"claimed_version": claimed_version, **budget.params()}
    for _ in range(ATTEMPTS):
        row = await pool.fetchrow(statement, user_id=user_id, **guard, **changes)
        if row is not None:
            return row
        # Nothing written: the token no longer valid, writes spent, or a value taken.
        await require_valid_token(pool, user_id, claimed_version)
        if refusal := await budget.refusal(pool, user_id, growth=0):
            raise refusal
        await refuse_if_taken(pool, changes, user_id)
    raise HTTPException(status.HTTP_409_CONFLICT, CONFLICT)


async def delete_user(pool: Pool, user_id: int, claimed_version: int) -> None:
    """The user and, by ON DELETE CASCADE in the same statement, their posts."""
    if await pool.fetchrow(DELETE_USER, user_id=user_id, claimed_version=claimed_version):
        return
    raise unauthorized()  # the token's user is gone already, or the token is stale


async def refuse_if_taken(pool: Pool, values: dict[str, Any], user_id: int) -> None:
    """A 409 naming the first unique field whose value another user holds; else return
    (it was released meanwhile: the write is tried again)."""
    given = {parameter: values.get(parameter) for parameter in UNIQUE.parameters}
    taken = await pool.fetchrow(USER_TAKEN, user_id=user_id, **given)
    for field in UNIQUE.fields:
        if taken is not None and taken[field]:
            raise HTTPException(status.HTTP_409_CONFLICT, f"{field} is already taken")
