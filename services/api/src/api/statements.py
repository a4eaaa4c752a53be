"""Every statement the endpoints run, built once at import with bound parameters.

Per request only the parameters change: SQLAlchemy finds the compiled SQL in its cache
without building and hashing a new statement, and asyncpg reuses the statement it
prepared on that connection. (Building statements per request cost about a third of
the API's CPU per single-row read; see bench/README.md.)
"""

from sqlalchemy import bindparam, delete, exists, insert, select

from api.columns import POST_COLUMNS, USER_COLUMNS
from api.pagination import keyset
from shared_models import Post, User

USER_BY_ID = select(*USER_COLUMNS).where(User.id == bindparam("user_id"))
USER_EXISTS = select(exists().where(User.id == bindparam("user_id")))
USERS_PAGE = keyset(select(*USER_COLUMNS), User.id)
CREATE_USER = insert(User).returning(*USER_COLUMNS)
DELETE_USER = delete(User).where(User.id == bindparam("user_id")).returning(User.id)

POST_BY_ID = select(*POST_COLUMNS).where(Post.id == bindparam("post_id"))
POSTS_PAGE = keyset(select(*POST_COLUMNS), Post.id)
POSTS_BY_USER_PAGE = keyset(
    select(*POST_COLUMNS).where(Post.user_id == bindparam("user_id")), Post.id
)
CREATE_POST = insert(Post).returning(*POST_COLUMNS)
DELETE_POST = delete(Post).where(Post.id == bindparam("post_id")).returning(Post.id)
