"""/users: create, list, read, change and delete users."""

from fastapi import APIRouter, Request, Response, status

from api.http.dependencies import PoolDep
from api.http.ids import UserId
from api.http.openapi import documented
from api.http.paging import NEXT_LINK_HEADER, PageQuery, page_response
from api.http.responses import found, row_response
from api.http.strict_json import StrictJsonRoute
from api.users import writes
from api.users.schemas import UserCreate, UserOut, UserUpdate
from api.users.statements import DELETE_USER, USER_BY_ID, USERS_PAGE

router = APIRouter(tags=["users"], route_class=StrictJsonRoute)


@router.post(
    "/users",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=documented(409, 413, 503),
)
async def create_user(body: UserCreate, pool: PoolDep) -> Response:
    row = await writes.create_user(pool, body.model_dump())
    return row_response(row, "User", status.HTTP_201_CREATED)


@router.get(
    "/users",
    summary="List users by id, a page at a time",
    response_model=list[UserOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(503)},
)
async def list_users(page: PageQuery, pool: PoolDep, request: Request) -> Response:
    return page_response(await pool.fetch(USERS_PAGE, **page.params()), page, request)


@router.get(
    "/users/{user_id}",
    summary="Get a user",
    response_model=UserOut,
    responses=documented(404, 503),
)
async def get_user(user_id: UserId, pool: PoolDep) -> Response:
    return row_response(await pool.fetchrow(USER_BY_ID, user_id=user_id), "User")


@router.patch(
    "/users/{user_id}",
    summary="Change a user's username, email or bio",
    description="Only the fields sent change; `bio: null` clears the bio.",
    response_model=UserOut,
    responses=documented(404, 409, 413, 503),
)
async def update_user(user_id: UserId, body: UserUpdate, pool: PoolDep) -> Response:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return await get_user(user_id, pool)
    return row_response(await writes.update_user(pool, user_id, changes), "User")


@router.delete(
    "/users/{user_id}",
    summary="Delete a user and their posts",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(404, 503),
)
async def delete_user(user_id: UserId, pool: PoolDep) -> Response:
    # The posts go by ON DELETE CASCADE, inside this one statement.
    found(await pool.fetchrow(DELETE_USER, user_id=user_id), "User")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
