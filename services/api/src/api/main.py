"""The application: routes, error answers, the body limit and the worker's database,
wrapped in the request observation (what gunicorn serves: ``serve_app``)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from importlib.metadata import version

from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from api.body_limit import BodySizeLimitMiddleware
from api.db.gauges import sample_pool_gauges
from api.db.pool import Database
from api.dependencies import AppState
from api.docs import install_docs
from api.error_handlers import install_error_handlers
from api.observability.metrics import record_build
from api.observability.middleware import ObserveRequests
from api.openapi import operation_id
from api.public_hosts import PublicHostsMiddleware
from api.routes import health, metrics, posts, users
from api.settings import SETTINGS, ApiDatabaseSettings, ApiSettings
from shared_models.startup import start

# Every route of the API's document (the OpenAPI and client tests walk these); /metrics
# is Prometheus's, outside the document.
ROUTERS = (health.router, users.router, posts.router)
ALL_ROUTERS = (*ROUTERS, metrics.router)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[AppState]]


def lifespan_of(database: ApiDatabaseSettings, settings: ApiSettings) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AppState]:
        # Opened here, in the worker, so no pool is ever shared across a fork.
        pool = await Database.open(database, settings)
        record_build(settings.build_revision)
        sampler = asyncio.create_task(sample_pool_gauges(pool))
        yield {"database": pool}
        sampler.cancel()
        with suppress(asyncio.CancelledError):
            await sampler
        await pool.close()

    return lifespan


def create_app(
    database: ApiDatabaseSettings | None = None, settings: ApiSettings | None = None
) -> FastAPI:
    database = database or ApiDatabaseSettings.load()
    settings = settings or ApiSettings.load()
    app = FastAPI(
        title="Users and posts API",
        version=version("api"),
        summary="FastAPI over PostgreSQL; the schema is owned by Alembic migrations.",
        lifespan=lifespan_of(database, settings),
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        telemetry={
            "tracing": settings.api_opentelemetry,
            "metrics": settings.api_opentelemetry,
            "logs": settings.api_opentelemetry,
        },
    )
    app.state.metrics_port = settings.metrics_port
    app.state.drain_file = settings.drain_file
    install_docs(app)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(PublicHostsMiddleware, public_hosts=settings.public_host_names)
    for router in ALL_ROUTERS:
        app.include_router(router)
    return app


def served_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route ``app`` serves, flat: its own (the docs) and the routers' (which
    FastAPI keeps nested in app.routes, behind an object of its own)."""
    own = [route for route in app.routes if not hasattr(route, "original_router")]
    return [*own, *(route for router in ALL_ROUTERS for route in router.routes)]


def serve_app() -> ASGIApp:
    """The app as served: its settings checked and logging configured, and wrapped in
    the request observation (outside FastAPI's own error middleware, so it sees every
    final status)."""
    start("api", SETTINGS)
    settings = ApiSettings.load()
    app = create_app(settings=settings)
    return ObserveRequests(app, served_routes(app), access_log_enabled=settings.access_log)
