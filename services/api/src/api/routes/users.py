from fastapi import APIRouter, Request, Response, status

from api.columns import USER_COLUMNS
from api.dependencies import Db
from api.ids import UserId
from api.openapi import documented
from api.pagination import NEXT_LINK_HEADER, PageQuery, keyset_params, page_response
from api.responses import found, row_response
from api.schemas import UserCreate, UserOut, UserUpdate
from api.statements import CREATE_USER, DELETE_USER, USER_BY_ID, USERS_PAGE, updating
from shared_models import User

router = APIRouter(tags=["users"])


@router.post(
    "/users",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=documented(400, 409, 413, 503),
)
async def create_user(body: UserCreate, db: Db) -> Response:
    # No check-then-insert: the unique indexes decide, and a violation is a 409.
    row = await db.fetchrow(CREATE_USER, **body.model_dump())
    return row_response(row, "User", status.HTTP_201_CREATED)


@router.get(
    "/users",
    summary="List users by id, a page at a time",
    response_model=list[UserOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(503)},
)
async def list_users(page: PageQuery, db: Db, request: Request) -> Response:
    return page_response(await db.fetch(USERS_PAGE, **keyset_params(page)), page, request)


@router.get(
    "/users/{user_id}",
    summary="Get a user",
    response_model=UserOut,
    responses=documented(404, 503),
)
async def get_user(user_id: UserId, db: Db) -> Response:
    return row_response(await db.fetchrow(USER_BY_ID, user_id=user_id), "User")


@router.patch(
    "/users/{user_id}",
    summary="Change a user's username, email or bio",
    description="Only the fields sent change; `bio: null` clears the bio.",
    response_model=UserOut,
    responses=documented(400, 404, 409, 413, 503),
)
async def update_user(user_id: UserId, body: UserUpdate, db: Db) -> Response:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return await get_user(user_id, db)
    statement = updating(User, USER_COLUMNS, "user_id", changes)
    return row_response(await db.fetchrow(statement, user_id=user_id, **changes), "User")


@router.delete(
    "/users/{user_id}",
    summary="Delete a user and their posts",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(404, 503),
)
async def delete_user(user_id: UserId, db: Db) -> Response:
    # The posts go by ON DELETE CASCADE, inside this one statement.
    found(await db.fetchrow(DELETE_USER, user_id=user_id), "User")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
