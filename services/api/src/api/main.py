"""The application: each resource's routes, the HTTP plumbing around them, and the
worker's pool, wrapped in the request observation. gunicorn serves ``observed_app``
(api.gunicorn_conf); the development server calls ``serve_app``."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from importlib.metadata import version
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from api.accounts import routes as accounts_routes
from api.accounts.budget import WriteBudget
from api.accounts.passwords import Hashing
from api.accounts.tokens import KeyRing
from api.db.gauges import sample_pool_gauges
from api.db.pool import Pool
from api.health import routes as health_routes
from api.http.body_limit import install_body_limits
from api.http.dependencies import AppState
from api.http.docs import install_docs
from api.http.errors import install_error_handlers
from api.http.forwarded import ForwardedByProxy
from api.http.openapi import operation_id
from api.http.public_hosts import PublicHostsMiddleware
from api.observability import routes as metrics_routes
from api.observability.metrics import record_build
from api.observability.middleware import AccessLogPolicy, ObserveRequests
from api.posts import routes as posts_routes
from api.posts import writes as post_writes
from api.settings import SETTINGS, ApiDatabaseSettings, ApiSettings, ServerSettings
from api.users import routes as users_routes
from api.users import writes as user_writes
from shared_models.startup import Settings, start

# Every route of the API's document (the OpenAPI and client tests walk these); /metrics
# is Prometheus's, outside the document.
ROUTERS = (
    health_routes.router,
    accounts_routes.router,
    users_routes.router,
    posts_routes.router,
)
ALL_ROUTERS = (*ROUTERS, metrics_routes.router)
# What each resource answers for its constraints, by name.
CONSTRAINT_ANSWERS = {**user_writes.CONSTRAINT_ANSWERS, **post_writes.CONSTRAINT_ANSWERS}

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[AppState]]


def lifespan_of(database_settings: ApiDatabaseSettings, api_settings: ApiSettings) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AppState]:
        # Opened here, in the worker, so no pool is ever shared across a fork.
        # The keys first: a worker without them fails to start, rather than answer 500s.
        keys = KeyRing(Path(api_settings.token_keys_file), api_settings.token_minutes)
        hashing = Hashing(api_settings)
        pool = await Pool.open(database_settings, api_settings)
        record_build(api_settings.build_revision)
        sampler = asyncio.create_task(sample_pool_gauges(pool))
        budget = WriteBudget.of(api_settings)
        yield {
            "pool": pool,
            "settings": api_settings,
            "keys": keys,
            "hashing": hashing,
            "budget": budget,
        }
        sampler.cancel()
        with suppress(asyncio.CancelledError):
            await sampler
        await pool.close()

    return lifespan


def create_app(database_settings: ApiDatabaseSettings, api_settings: ApiSettings) -> FastAPI:
    app = FastAPI(
        title="Users and posts API",
        version=version("api"),
        summary="FastAPI over PostgreSQL; the schema is owned by Alembic migrations.",
        lifespan=lifespan_of(database_settings, api_settings),
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        telemetry={
            "tracing": api_settings.api_opentelemetry,
            "metrics": api_settings.api_opentelemetry,
            "logs": api_settings.api_opentelemetry,
        },
    )
    install_docs(app)
    install_error_handlers(app, CONSTRAINT_ANSWERS)
    install_body_limits(app, api_settings.max_body_bytes, api_settings.max_body_seconds)
    app.add_middleware(PublicHostsMiddleware, public_hosts=api_settings.public_host_names)
    for router in ALL_ROUTERS:
        serve_flat(app, router)
    return app


def serve_flat(app: FastAPI, router: APIRouter) -> None:
    """The router's routes onto the app's own list, as they are. ``include_router`` keeps
    a router as one route of its own, which FastAPI (0.137 on) searches on every request,
    saving and restoring scope keys for each candidate (fastapi#15745): 38 us to find
    GET /users/{id} among our routers, 22.5 us in one flat list. Our routers have nothing
    for it to add (no prefix, dependencies or responses of their own), and they name
    their operations (operation_id) themselves."""
    app.router.routes.extend(router.routes)


def observed_app(settings: Settings) -> ASGIApp:
    """The app as served, wrapped in the request observation (outside FastAPI's own error
    middleware, so it sees every final status), which sees the client the proxy names."""
    api_settings = settings[ApiSettings]
    app = create_app(settings[ApiDatabaseSettings], api_settings)
    access_log = AccessLogPolicy(
        enabled=api_settings.access_log,
        sample=api_settings.access_log_sample,
        slow_seconds=api_settings.access_log_slow_ms / 1000,
    )
    observed = ObserveRequests(app, app.routes, access_log)
    return ForwardedByProxy(observed, settings[ServerSettings].trusted_proxies.split(","))


def serve_app() -> ASGIApp:
    """For a server that starts nothing itself (``uvicorn --factory api.main:serve_app``):
    the settings checked and logging configured, once."""
    return observed_app(start("api", SETTINGS))
