"""The FastAPI application: routes, error answers, body limit, and the per-worker engine."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.body_limit import BodySizeLimitMiddleware
from api.database import create_db_engine
from api.errors import install_error_handlers
from api.routes import health, posts, users
from api.settings import ApiDatabaseSettings, ApiSettings

# Every route the API serves (the OpenAPI test walks these).
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
        app.state.engine = create_db_engine(database, settings)
        yield
        await app.state.engine.dispose()

    app = FastAPI(
        title="Users and posts API",
        version="0.1.0",
        summary="FastAPI over PostgreSQL; the schema is owned by Alembic migrations.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        telemetry={
            "tracing": settings.api_opentelemetry,
            "metrics": settings.api_opentelemetry,
            "logs": settings.api_opentelemetry,
        },
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    return app
