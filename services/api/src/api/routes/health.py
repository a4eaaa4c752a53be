from fastapi import APIRouter

from api.db.readiness import check_schema
from api.dependencies import Db
from api.openapi import documented
from api.schemas import Health, Message
from api.statements import ALL

router = APIRouter(tags=["health"])


@router.get("/", summary="Say hello", response_model=Message)
async def home() -> Message:
    return Message(message="FastAPI over PostgreSQL, schema by Alembic")


@router.get("/healthz", summary="Liveness: the process answers (no database)")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers and has every column this code uses",
    responses=documented(503),
)
async def readyz(db: Db) -> Health:
    await check_schema(db, ALL)
    return Health(status="ok")


# Some probes (load balancers, uptime checkers) ask with HEAD: the same answers, no body.
# Outside the document, which would otherwise list each twice under one operation id.
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)
