from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import Field, TypeAdapter, WithJsonSchema
from sqlalchemy import update

from api.columns import POST_COLUMNS, PostId, ResultRow, UserId
from api.database import DbConnection
from api.errors import documented, found
from api.pagination import MAX_ID, NEXT_LINK_HEADER, PageQuery, keyset_params, page_of
from api.schemas import PostCreate, PostOut, PostUpdate
from api.statements import (
    CREATE_POST,
    DELETE_POST,
    POST_BY_ID,
    POSTS_BY_USER_PAGE,
    POSTS_PAGE,
    USER_EXISTS,
)
from shared_models import Post

router = APIRouter(tags=["posts"])

AUTHOR_FILTER = "Only this author's posts; omit it for every author's."
AuthorId = Annotated[int, Field(gt=0, le=MAX_ID)]
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
    status_code=status.HTTP_201_CREATED,
    response_model=PostOut,
    responses=documented(400, 404, 413, 503),
)
async def create_post(user_id: UserId, body: PostCreate, db: DbConnection) -> ResultRow:
    # An unknown user_id violates the foreign key: a 404, decided by the database.
    return (await db.execute(CREATE_POST, {"user_id": user_id, **body.model_dump()})).one()


@router.get(
    "/users/{user_id}/posts",
    summary="List a user's posts by id, a page at a time",
    response_model=list[PostOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(404, 503)},
)
async def list_user_posts(
    user_id: UserId, page: PageQuery, db: DbConnection, request: Request, response: Response
) -> list[ResultRow]:
    found((await db.execute(USER_EXISTS, {"user_id": user_id})).scalar_one() or None, "User")
    params = {"user_id": user_id, **keyset_params(page)}
    rows = (await db.execute(POSTS_BY_USER_PAGE, params)).all()
    return page_of(rows, page, request, response)


@router.get(
    "/posts",
    summary="List posts by id, a page at a time",
    response_model=list[PostOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(503)},
)
async def list_posts(
    page: PageQuery,
    db: DbConnection,
    request: Request,
    response: Response,
    user_id: AuthorFilter = None,
) -> list[ResultRow]:
    if user_id is None:
        rows = (await db.execute(POSTS_PAGE, keyset_params(page))).all()
    else:
        params = {"user_id": user_id, **keyset_params(page)}
        rows = (await db.execute(POSTS_BY_USER_PAGE, params)).all()
    return page_of(rows, page, request, response)


@router.get(
    "/posts/{post_id}",
    summary="Get a post",
    response_model=PostOut,
    responses=documented(404, 503),
)
async def get_post(post_id: PostId, db: DbConnection) -> ResultRow:
    return found((await db.execute(POST_BY_ID, {"post_id": post_id})).one_or_none(), "Post")


@router.patch(
    "/posts/{post_id}",
    summary="Change a post's title or content",
    response_model=PostOut,
    responses=documented(400, 404, 413, 503),
)
async def update_post(post_id: PostId, body: PostUpdate, db: DbConnection) -> ResultRow:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return await get_post(post_id, db)
    # Built per request: which columns change depends on the body.
    statement = update(Post).where(Post.id == post_id).values(**changes).returning(*POST_COLUMNS)
    return found((await db.execute(statement)).one_or_none(), "Post")


@router.delete(
    "/posts/{post_id}",
    summary="Delete a post",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(404, 503),
)
async def delete_post(post_id: PostId, db: DbConnection) -> None:
    found((await db.execute(DELETE_POST, {"post_id": post_id})).first(), "Post")
