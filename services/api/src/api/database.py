"""One async engine (and its pool) per worker process, and a connection per request."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from api.errors import DatabaseUnreachableError
from api.metrics import (
    POOL_CHECKED_OUT,
    POOL_OPEN,
    POOL_OVERFLOW,
    POOL_TIMEOUTS,
    POOL_WAIT_SECONDS,
    POOL_WAITS,
)
from api.settings import ApiDatabaseSettings, ApiSettings


def create_db_engine(database: ApiDatabaseSettings, api: ApiSettings) -> AsyncEngine:
    return create_async_engine(
        database.url("asyncpg"),
        # Every endpoint issues one writing statement at most, and a single statement
        # is atomic on its own: autocommit saves a BEGIN and a COMMIT round trip each.
        isolation_level="AUTOCOMMIT",
        # ...and with no transaction ever left open there is nothing to roll back when a
        # connection goes back to the pool: skip that round of work on every request.
        pool_reset_on_return=None,
        pool_size=api.db_pool_size,
        max_overflow=api.db_pool_max_overflow,
        pool_timeout=api.db_pool_timeout,
        connect_args={
            "timeout": database.postgres_connect_timeout,
            "server_settings": {
                "application_name": "api",
                "statement_timeout": str(round(api.db_statement_timeout * 1000)),
            },
        },
    )


@asynccontextmanager
async def connect(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection; any failure to get one means the database is unreachable."""
    connection = engine.connect()
    started = time.perf_counter()
    try:
        await connection.start()
    # Refused or timed-out connects, an exhausted pool, or the server turning us away.
    except (OSError, TimeoutError, PoolTimeoutError, DBAPIError) as exc:
        POOL_TIMEOUTS.inc()
        raise DatabaseUnreachableError(str(exc)) from exc
    waited = time.perf_counter() - started
    if waited > 0.001:
        POOL_WAITS.inc()
        POOL_WAIT_SECONDS.inc(waited)
    try:
        yield connection
    finally:
        await connection.close()


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    async with connect(request.app.state.engine) as connection:
        yield connection


DbConnection = Annotated[AsyncConnection, Depends(get_connection)]


async def sample_pool(engine: AsyncEngine, every_seconds: float = 1.0) -> None:
    """Keep the pool gauges current: sampled, so requests pay nothing for them."""
    pool = engine.pool
    while True:
        checked_out, overflow = pool.checkedout(), max(0, pool.overflow())  # type: ignore[attr-defined]
        POOL_CHECKED_OUT.set(checked_out)
        POOL_OVERFLOW.set(overflow)
        POOL_OPEN.set(pool.checkedin() + checked_out)  # type: ignore[attr-defined]
        await asyncio.sleep(every_seconds)
