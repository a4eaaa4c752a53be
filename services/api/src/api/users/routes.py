"""/users: create, list, read, change and delete users."""

from fastapi import APIRouter, Request, Response, status

from api.accounts.security import Account, require_owner
from api.http.dependencies import BudgetDep, HashingDep, PoolDep
from api.http.ids import UserId
from api.http.openapi import documented, operation_id
from api.http.paging import NEXT_LINK_HEADER, PageQuery, page_response
from api.http.responses import row_response
from api.http.strict_json import StrictJsonRoute
from api.users import writes
from api.users.schemas import UserCreate, UserOut, UserUpdate
from api.users.statements import USER_BY_ID, USERS_PAGE

router = APIRouter(
    tags=["users"], route_class=StrictJsonRoute, generate_unique_id_function=operation_id
)


@router.post(
    "/users",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=documented(409, 413, 503),
)
async def create_user(body: UserCreate, pool: PoolDep, hashing: HashingDep) -> Response:
    fields = body.model_dump(exclude={"password"})
    fields["password_hash"] = await hashing.hash(body.password.get_secret_value())
    row = await writes.create_user(pool, fields)
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
    summary="Change a user's username, email, bio or password",
    description="Only the fields sent change; `bio: null` clears the bio. Needs this "
    "user's token; a new password ends every token issued before it. Counted against the "
    "user's writes a minute.",
    response_model=UserOut,
    responses=documented(401, 403, 409, 413, 429, 503),
)
async def update_user(
    user_id: UserId,
    body: UserUpdate,
    pool: PoolDep,
    hashing: HashingDep,
    account: Account,
    budget: BudgetDep,
) -> Response:
    require_owner(account, user_id)
    changes = body.model_dump(exclude_unset=True, exclude={"password"})
    if body.password is not None:
        changes["password_hash"] = await hashing.hash(body.password.get_secret_value())
    if not changes:
        await writes.require_valid_token(pool, user_id, account.version)
        return await get_user(user_id, pool)
    row = await writes.update_user(pool, user_id, changes, account.version, budget)
    return row_response(row, "User")


@router.delete(
    "/users/{user_id}",
    summary="Delete a user and their posts",
    description="Needs this user's token; every token of the user ends with it.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(401, 403, 503),
)
async def delete_user(user_id: UserId, pool: PoolDep, account: Account) -> Response:
    require_owner(account, user_id)
    await writes.delete_user(pool, user_id, account.version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
