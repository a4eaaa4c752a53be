from typing import TypeVar

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import delete, insert, select, update

from api.columns import USER_COLUMNS, UserId, UserRow
from api.database import DbConnection
from api.errors import documented
from api.pagination import NEXT_LINK_HEADER, PageQuery, keyset, page_of
from api.schemas import UserCreate, UserOut, UserUpdate
from shared_models import User

router = APIRouter(tags=["users"])

USER_NOT_FOUND = "User not found"


RowT = TypeVar("RowT")


def found(row: RowT | None) -> RowT:
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, USER_NOT_FOUND)
    return row


@router.post(
    "/users",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=documented(409, 413, 503),
)
async def create_user(body: UserCreate, db: DbConnection) -> UserRow:
    # No check-then-insert: the unique constraints decide, and a violation is a 409.
    statement = insert(User).values(**body.model_dump()).returning(*USER_COLUMNS)
    return (await db.execute(statement)).one()


@router.get(
    "/users",
    summary="List users by id, a page at a time",
    response_model=list[UserOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(503)},
)
async def list_users(
    page: PageQuery, db: DbConnection, request: Request, response: Response
) -> list[UserRow]:
    rows = (await db.execute(keyset(select(*USER_COLUMNS), User.id, page))).all()
    return page_of(rows, page, request, response)


@router.get(
    "/users/{user_id}",
    summary="Get a user",
    response_model=UserOut,
    responses=documented(404, 503),
)
async def get_user(user_id: UserId, db: DbConnection) -> UserRow:
    return found((await db.execute(select(*USER_COLUMNS).where(User.id == user_id))).one_or_none())


@router.patch(
    "/users/{user_id}",
    summary="Change a user's username, email or bio",
    description="Only the fields sent change; `bio: null` clears the bio.",
    response_model=UserOut,
    responses=documented(404, 409, 413, 503),
)
async def update_user(user_id: UserId, body: UserUpdate, db: DbConnection) -> UserRow:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return await get_user(user_id, db)
    statement = update(User).where(User.id == user_id).values(**changes).returning(*USER_COLUMNS)
    return found((await db.execute(statement)).one_or_none())


@router.delete(
    "/users/{user_id}",
    summary="Delete a user and their posts",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(404, 503),
)
async def delete_user(user_id: UserId, db: DbConnection) -> None:
    # The posts go by ON DELETE CASCADE, inside this one statement.
    found((await db.execute(delete(User).where(User.id == user_id).returning(User.id))).first())
