"""The one place that decides a post's writes. The author is read and held in the same
statement as the insert, so an unknown author writes nothing and logs no error."""

from __future__ import annotations

from typing import Any

from asyncpg import Record

from api.db.pool import Pool
from api.http.database_errors import Answer
from api.posts.statements import CREATE_POST, DELETE_POST, updating_post

# Posts are created under /users/{user_id}: an unknown author is that URL's 404.
CONSTRAINT_ANSWERS = {"fk_posts_user_id_users": Answer(404, "User not found")}


async def create_post(pool: Pool, user_id: int, fields: dict[str, Any]) -> Record | None:
    """The post, or None when there is no such author."""
    return await pool.fetchrow(CREATE_POST, user_id=user_id, **fields)


async def update_post(pool: Pool, post_id: int, changes: dict[str, Any]) -> Record | None:
    """The post as changed, or None when there is no such post."""
    return await pool.fetchrow(updating_post(changes), post_id=post_id, **changes)


async def delete_post(pool: Pool, post_id: int) -> Record | None:
    return await pool.fetchrow(DELETE_POST, post_id=post_id)
