"""The greeting and the health probes: liveness (/healthz, no database) and readiness
(/readyz: the database answers and has every column this code uses)."""

import os

from fastapi import APIRouter, Response

from api.db.readiness import check_schema
from api.health.schemas import Health, Message
from api.http.dependencies import PoolDep, SettingsDep
from api.http.errors import RETRY_AFTER_SECONDS, error
from api.http.openapi import documented, operation_id

router = APIRouter(tags=["health"], generate_unique_id_function=operation_id)

DRAINING = "draining: this api container is being replaced; the others serve"


@router.get("/", summary="Say hello", response_model=Message)
async def home() -> Message:
    return Message(message="FastAPI over PostgreSQL, schema by Alembic")


@router.get("/healthz", summary="Liveness: the process answers (no database)")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers and has every column this code uses",
    response_model=Health,
    responses=documented(503),
)
async def readyz(pool: PoolDep, settings: SettingsDep) -> Health | Response:
    # Draining (make release): no new requests, please; the ones in flight finish. A stat
    # of a tmpfs file: too quick to be worth a thread.
    if os.path.exists(settings.drain_file):  # noqa: ASYNC240, PTH110
        return error(503, DRAINING, headers={"Retry-After": RETRY_AFTER_SECONDS})
    await check_schema(pool)
    return Health(status="ok")


# Some probes (load balancers, uptime checkers) ask with HEAD: the same answers, no body.
# Outside the document, which would otherwise list each twice under one operation id.
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route(
    "/readyz", readyz, methods=["HEAD"], response_model=Health, include_in_schema=False
)
