from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

from api.dependencies import Db
from api.ids import UserId
from api.openapi import documented
from api.pagination import NEXT_LINK_HEADER, PageQuery, keyset_params, page_response
from api.responses import found, row_response
from api.schemas import UserCreate, UserOut, UserUpdate
from api.statements import (
    CREATE_USER,
    DELETE_USER,
    USER_BY_ID,
    USER_EXISTS,
    USER_TAKEN,
    USERS_PAGE,
    updating_user,
)
from api.strict_json import StrictJsonRoute
from api.uniqueness import UNIQUE_FIELDS, UNIQUE_PARAMETERS, with_keys

router = APIRouter(tags=["users"], route_class=StrictJsonRoute)

# A value taken, then released before the 409 could name it: the write is tried again.
ATTEMPTS = 3
CONFLICT = "conflicts with an existing resource"


@router.post(
    "/users",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=documented(409, 413, 503),
)
async def create_user(body: UserCreate, db: Db) -> Response:
    # No check-then-insert: the unique indexes decide; a taken value writes nothing.
    values = with_keys(body.model_dump())
    for _ in range(ATTEMPTS):
        row = await db.fetchrow(CREATE_USER, **values)
        if row is not None:
            return row_response(row, "User", status.HTTP_201_CREATED)
        await refuse_if_taken(db, values, user_id=0)
    raise HTTPException(status.HTTP_409_CONFLICT, CONFLICT)


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
    responses=documented(404, 409, 413, 503),
)
async def update_user(user_id: UserId, body: UserUpdate, db: Db) -> Response:
    changes = with_keys(body.model_dump(exclude_unset=True))
    if not changes:
        return await get_user(user_id, db)
    statement = updating_user(changes)
    for _ in range(ATTEMPTS):
        row = await db.fetchrow(statement, user_id=user_id, **changes)
        if row is not None:
            return row_response(row, "User")
        # Nothing written: no such user, or another holds a value.
        exists = await db.fetchrow(USER_EXISTS, user_id=user_id)
        found(True if exists and exists[0] else None, "User")
        await refuse_if_taken(db, changes, user_id)
    raise HTTPException(status.HTTP_409_CONFLICT, CONFLICT)


async def refuse_if_taken(db: Db, values: dict[str, Any], user_id: int) -> None:
    """A 409 naming the first unique field whose value another user holds; else return
    (it was released meanwhile: the write is tried again)."""
    given = {parameter: values.get(parameter) for parameter in UNIQUE_PARAMETERS}
    taken = await db.fetchrow(USER_TAKEN, user_id=user_id, **given)
    for field in UNIQUE_FIELDS:
        if taken is not None and taken[field]:
            raise HTTPException(status.HTTP_409_CONFLICT, f"{field} is already taken")


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
