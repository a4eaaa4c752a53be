"""The one place that decides a post's writes. The author is read and held in the same
statement as the insert, so an unknown author writes nothing and logs no error. Each
write is guarded by its token in its own statement; only a refused one reads why."""

from __future__ import annotations

from typing import Any

from asyncpg import Record

from api.accounts.security import forbidden
from api.accounts.tokens import Claims
from api.db.pool import Pool
from api.http.database_errors import Answer
from api.http.responses import found
from api.posts.statements import CREATE_POST, DELETE_POST, POST_AUTHOR, updating_post
from api.users.writes import require_valid_token

# Posts are created under /users/{user_id}: an unknown author is that URL's 404.
CONSTRAINT_ANSWERS = {"fk_posts_user_id_users": Answer(404, "User not found")}


async def create_post(pool: Pool, account: Claims, fields: dict[str, Any]) -> Record:
    """The post, by the token's user (the route checked it is the URL's)."""
    values = {"user_id": account.user_id, "claimed_version": account.version, **fields}
    row = await pool.fetchrow(CREATE_POST, **values)
    if row is None:  # the author is gone, or changed their password since the token
        await require_valid_token(pool, account.user_id, account.version)
        found(None, "User")
    assert row is not None
    return row


async def refused(pool: Pool, post_id: int, account: Claims) -> None:
    """Why a change of a post wrote nothing: 401, 404 or 403, in that order."""
    await require_valid_token(pool, account.user_id, account.version)
    row = found(await pool.fetchrow(POST_AUTHOR, post_id=post_id), "Post")
    if row[0] != account.user_id:
        raise forbidden()


async def update_post(
    pool: Pool, post_id: int, account: Claims, changes: dict[str, Any]
) -> Record | None:
    """The post as changed by its author; else raise the refusal."""
    guard = {"author": account.user_id, "claimed_version": account.version}
    row = await pool.fetchrow(updating_post(changes), post_id=post_id, **guard, **changes)
    if row is None:
        await refused(pool, post_id, account)
    return row


async def delete_post(pool: Pool, post_id: int, account: Claims) -> None:
    guard = {"author": account.user_id, "claimed_version": account.version}
    if await pool.fetchrow(DELETE_POST, post_id=post_id, **guard) is None:
        await refused(pool, post_id, account)
