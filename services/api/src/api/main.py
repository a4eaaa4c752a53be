"""The FastAPI application: routes, error answers, body limit, and the per-worker engine."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.body_limit import BodySizeLimitMiddleware
from api.database import create_db_engine
from api.docs import install_docs
from api.errors import install_error_handlers
from api.routes import health, posts, users
from api.settings import ApiDatabaseSettings, ApiSettings

# Every route the API serves (the OpenAPI test walks these).
ROUTERS = (health.router, users.router, posts.router)


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
        docs_url=None,
        redoc_url=None,
        telemetry={
            "tracing": settings.api_opentelemetry,
            "metrics": settings.api_opentelemetry,
            "logs": settings.api_opentelemetry,
        },
    )
    install_docs(app)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    return app
