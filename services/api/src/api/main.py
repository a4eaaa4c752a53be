"""The application: routes, error answers, body limit, the per-worker engine, and the
telemetry around it all (what gunicorn serves: ``serve_app``)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp

from api.body_limit import BodySizeLimitMiddleware
from api.database import Database
from api.docs import install_docs
from api.errors import install_error_handlers
from api.metrics import record_build
from api.routes import health, metrics, posts, users
from api.settings import ApiDatabaseSettings, ApiSettings
from api.telemetry import Telemetry
from shared_models.logs import configured_or_default

# Every route of the API's document (the OpenAPI and client tests walk these); /metrics
# is Prometheus's, outside the document.
ROUTERS = (health.router, users.router, posts.router)


def operation_id(route: APIRoute) -> str:
    """The operation's id is its function's name: ``get_user``, not FastAPI's automatic
    ``get_user_users__user_id__get``, so it stays put when a path changes.

    The tag groups the operations (openapi-python-client makes it the module,
    ``api.users.get_user``), so the id leaves it out: generators do not strip a
    ``users-`` prefix, and ``users.users_get_user`` only stutters. Ids must be unique
    across the document, so function names must be unique across the routers;
    tests/api/test_openapi.py checks both.
    """
    return route.name


def create_app(
    database: ApiDatabaseSettings | None = None, settings: ApiSettings | None = None
) -> FastAPI:
    database = database or ApiDatabaseSettings.load()
    settings = settings or ApiSettings.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Created here, in the worker, so no pool is ever shared across a fork.
        app.state.database = pool = await Database.open(database, settings)
        record_build(settings.build_revision)
        sampler = asyncio.create_task(pool.sample())
        yield
        sampler.cancel()
        with suppress(asyncio.CancelledError):
            await sampler
        await pool.close()

    app = FastAPI(
        title="Users and posts API",
        version=version("api"),
        summary="FastAPI over PostgreSQL; the schema is owned by Alembic migrations.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        telemetry={
            "tracing": settings.api_opentelemetry,
            "metrics": settings.api_opentelemetry,
            "logs": settings.api_opentelemetry,
        },
    )
    install_docs(app)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in (*ROUTERS, metrics.router):
        app.include_router(router)
    return app


def serve_app() -> ASGIApp:
    """The app as served: logging configured, and wrapped in the request telemetry
    (outside FastAPI's own error middleware, so it sees every final status)."""
    configured_or_default("api")
    settings = ApiSettings.load()
    return Telemetry(create_app(settings=settings), access_log_enabled=settings.access_log)
