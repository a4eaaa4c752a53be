from fastapi import APIRouter, Request, Response, status
from sqlalchemy import update

from api.columns import USER_COLUMNS, ResultRow, UserId
from api.database import DbConnection
from api.errors import documented, found
from api.pagination import NEXT_LINK_HEADER, PageQuery, keyset_params, page_of
from api.schemas import UserCreate, UserOut, UserUpdate
from api.statements import CREATE_USER, DELETE_USER, USER_BY_ID, USERS_PAGE
from shared_models import User

router = APIRouter(tags=["users"])


@router.post(
    "/users",
    summary="Create a user",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=documented(400, 409, 413, 503),
)
async def create_user(body: UserCreate, db: DbConnection) -> ResultRow:
    # No check-then-insert: the unique constraints decide, and a violation is a 409.
    return (await db.execute(CREATE_USER, body.model_dump())).one()


@router.get(
    "/users",
    summary="List users by id, a page at a time",
    response_model=list[UserOut],
    responses={200: {"headers": NEXT_LINK_HEADER}, **documented(503)},
)
async def list_users(
    page: PageQuery, db: DbConnection, request: Request, response: Response
) -> list[ResultRow]:
    rows = (await db.execute(USERS_PAGE, keyset_params(page))).all()
    return page_of(rows, page, request, response)


@router.get(
    "/users/{user_id}",
    summary="Get a user",
    response_model=UserOut,
    responses=documented(404, 503),
)
async def get_user(user_id: UserId, db: DbConnection) -> ResultRow:
    return found((await db.execute(USER_BY_ID, {"user_id": user_id})).one_or_none(), "User")


@router.patch(
    "/users/{user_id}",
    summary="Change a user's username, email or bio",
    description="Only the fields sent change; `bio: null` clears the bio.",
    response_model=UserOut,
    responses=documented(400, 404, 409, 413, 503),
)
async def update_user(user_id: UserId, body: UserUpdate, db: DbConnection) -> ResultRow:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return await get_user(user_id, db)
    # Built per request: which columns change depends on the body.
    statement = update(User).where(User.id == user_id).values(**changes).returning(*USER_COLUMNS)
    return found((await db.execute(statement)).one_or_none(), "User")


@router.delete(
    "/users/{user_id}",
    summary="Delete a user and their posts",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(404, 503),
)
async def delete_user(user_id: UserId, db: DbConnection) -> None:
    # The posts go by ON DELETE CASCADE, inside this one statement.
    found((await db.execute(DELETE_USER, {"user_id": user_id})).first(), "User")
