"""Posts: created under their author (/users/{user_id}/posts), listed, read, changed
and deleted (/posts)."""

from typing import Annotated

from asyncpg import Connection, Record
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import TypeAdapter, WithJsonSchema

from api.accounts.security import Account, require_owner
from api.db.keyset import PAGE_BYTES
from api.http.dependencies import BudgetDep, PoolDep
from api.http.ids import AuthorId, PostId, UserId
from api.http.openapi import documented, operation_id
from api.http.paging import NEXT_LINK_HEADER, PageQuery, page_response
from api.http.responses import found, row_response
from api.http.strict_json import StrictJsonRoute
from api.posts import writes
from api.posts.schemas import PostCreate, PostOut, PostUpdate
from api.posts.statements import POST_BY_ID, POSTS_BY_USER_PAGE, POSTS_PAGE
from api.users.statements import USER_EXISTS

router = APIRouter(
    tags=["posts"], route_class=StrictJsonRoute, generate_unique_id_function=operation_id
)

AUTHOR_FILTER = "Only this author's posts; omit it for every author's."
PAGE_OF_POSTS = (
    f"A page holds at most {PAGE_BYTES // 1024} KiB of titles and contents (as stored, in"
    " UTF-8) plus one post: it may stop before `limit` items, and `Link` carries on."
)
# A query string cannot carry null, so the document states the bare integer (omitted means
# every author). The type stays `AuthorId | None`: validation and its 422s are unchanged
# (`| SkipJsonSchema[None]` would make it a union, two errors per bad value). The schema
# carries the description too: that is where generated clients read it from.
AuthorFilter = Annotated[
    AuthorId | None,
    WithJsonSchema({**TypeAdapter(AuthorId).json_schema(), "description": AUTHOR_FILTER}),
    Query(description=AUTHOR_FILTER),
]


@router.post(
    "/users/{user_id}/posts",
    summary="Create a post by a user",
    description="Needs that user's token: only the author posts as themselves. Counted "
    "against the author's write budget: a 429 past their writes a minute, a 413 past their "
    "stored bytes.",
    status_code=status.HTTP_201_CREATED,
    response_model=PostOut,
    responses=documented(401, 403, 413, 429, 503),
)
async def create_post(
    user_id: UserId, body: PostCreate, pool: PoolDep, account: Account, budget: BudgetDep
) -> Response:
    require_owner(account, user_id)
    row = await writes.create_post(pool, account, budget, body.model_dump())
    return row_response(row, "User", status.HTTP_201_CREATED)


@router.get(
    "/users/{user_id}/posts",
    summary="List a user's posts by id, a page at a time",
    description=PAGE_OF_POSTS,
    response_model=list[PostOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(404, 503)},
)
async def list_user_posts(
    user_id: UserId, page: PageQuery, pool: PoolDep, request: Request
) -> Response:
    async def author_and_page(connection: Connection) -> list[Record]:
        author = await USER_EXISTS.fetchrow(connection, user_id=user_id)
        found(True if author and author[0] else None, "User")
        return await POSTS_BY_USER_PAGE.fetch(connection, user_id=user_id, **page.params())

    return page_response(await pool.run(author_and_page), page, request)


@router.get(
    "/posts",
    summary="List posts by id, a page at a time",
    description=PAGE_OF_POSTS,
    response_model=list[PostOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(503)},
)
async def list_posts(
    page: PageQuery, pool: PoolDep, request: Request, user_id: AuthorFilter = None
) -> Response:
    if user_id is None:
        rows = await pool.fetch(POSTS_PAGE, **page.params())
    else:
        rows = await pool.fetch(POSTS_BY_USER_PAGE, user_id=user_id, **page.params())
    return page_response(rows, page, request)


@router.get(
    "/posts/{post_id}",
    summary="Get a post",
    response_model=PostOut,
    responses=documented(404, 503),
)
async def get_post(post_id: PostId, pool: PoolDep) -> Response:
    return row_response(await pool.fetchrow(POST_BY_ID, post_id=post_id), "Post")


@router.patch(
    "/posts/{post_id}",
    summary="Change a post's title or content",
    description="Needs its author's token; counted against the author's write budget.",
    response_model=PostOut,
    responses=documented(401, 403, 404, 413, 429, 503),
)
async def update_post(
    post_id: PostId, body: PostUpdate, pool: PoolDep, account: Account, budget: BudgetDep
) -> Response:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        await writes.refused(pool, post_id, account)
        return await get_post(post_id, pool)
    row = await writes.update_post(pool, post_id, account, budget, changes)
    return row_response(row, "Post")


@router.delete(
    "/posts/{post_id}",
    summary="Delete a post",
    description="Needs its author's token.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(401, 403, 404, 503),
)
async def delete_post(post_id: PostId, pool: PoolDep, account: Account) -> Response:
    await writes.delete_post(pool, post_id, account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
