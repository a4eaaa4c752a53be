"""The one place that decides a post's writes. The author's row is counted and held in
the same statement as the insert or change (api.posts.statements.counted_write), so an
unknown author, a stale token or a spent budget writes nothing and logs no error. Each
write is guarded in its own statement; only a refused one reads why."""

from __future__ import annotations

from typing import Any

from asyncpg import Record

from api.accounts.budget import WriteBudget
from api.accounts.security import forbidden
from api.accounts.tokens import Claims
from api.db.pool import Pool
from api.http.database_errors import Answer
from api.http.responses import found
from api.posts.statements import CREATE_POST, DELETE_POST, POST_AUTHOR, updating_post
from api.users.writes import require_valid_token

# Posts are created under /users/{user_id}: an unknown author is that URL's 404.
CONSTRAINT_ANSWERS = {"fk_posts_user_id_users": Answer(404, "User not found")}


# A write the budget refused, then found within it when asked why (its window ended
# in between), is tried again.
ATTEMPTS = 2


def stored_size(fields: dict[str, Any]) -> int:
    """A new post's bytes as the database stores them (UTF-8): what its budget counts."""
    return len(fields["title"].encode()) + len(fields["content"].encode())


async def create_post(
    pool: Pool, account: Claims, budget: WriteBudget, fields: dict[str, Any]
) -> Record:
    """The post, by the token's user (the route checked it is the URL's)."""
    growth = stored_size(fields)
    guard = {"author": account.user_id, "claimed_version": account.version}
    for _ in range(ATTEMPTS):
        row = await pool.fetchrow(CREATE_POST, **guard, **budget.params(), growth=growth, **fields)
        if row is not None:
            return row
        # The author is gone, or changed their password since the token: 401.
        await require_valid_token(pool, account.user_id, account.version)
        if refusal := await budget.refusal(pool, account.user_id, growth):
            raise refusal
    # Refused twice, each time for a reason gone when read: not seen in practice.
    found(None, "User")
    raise AssertionError("unreachable")


async def refused(pool: Pool, post_id: int, account: Claims) -> None:
    """Why a change of a post wrote nothing: 401, 404 or 403, in that order."""
    await require_valid_token(pool, account.user_id, account.version)
    row = found(await pool.fetchrow(POST_AUTHOR, post_id=post_id), "Post")
    if row[0] != account.user_id:
        raise forbidden()


async def update_post(
    pool: Pool, post_id: int, account: Claims, budget: WriteBudget, changes: dict[str, Any]
) -> Record | None:
    """The post as changed by its author; else raise the refusal."""
    guard = {"author": account.user_id, "claimed_version": account.version}
    statement = updating_post(changes)
    for _ in range(ATTEMPTS):
        row = await pool.fetchrow(statement, post_id=post_id, **guard, **budget.params(), **changes)
        if row is not None:
            return row
        await refused(pool, post_id, account)  # 401, 404 or 403
        # The author's own post, under a valid token: the budget refused it.
        if refusal := await budget.refusal(pool, account.user_id, growth=None):
            raise refusal
    return None


async def delete_post(pool: Pool, post_id: int, account: Claims) -> None:
    guard = {"author": account.user_id, "claimed_version": account.version}
    if await pool.fetchrow(DELETE_POST, post_id=post_id, **guard) is None:
        await refused(pool, post_id, account)
