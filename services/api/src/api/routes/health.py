from fastapi import APIRouter, Request
from sqlalchemy import select

from api.columns import POST_COLUMNS, USER_COLUMNS
from api.database import connect
from api.errors import documented
from api.schemas import Health, Message

router = APIRouter(tags=["health"])


@router.get("/", summary="Say hello", response_model=Message)
async def home() -> Message:
    return Message(message="FastAPI over PostgreSQL, schema by Alembic")


@router.get("/healthz", summary="Liveness: the process answers (no database)")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers and has every column this code reads",
    responses=documented(503),
)
async def readyz(request: Request) -> Health:
    async with connect(request.app.state.engine) as connection:
        # LIMIT 0 reads nothing but still fails if a table or column is missing.
        for columns in (USER_COLUMNS, POST_COLUMNS):
            await connection.execute(select(*columns).limit(0))
    return Health(status="ok")
