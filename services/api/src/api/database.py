"""One async engine (and its pool) per worker process, and a connection per request."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from api.settings import ApiSettings
from shared_models import DatabaseSettings


def create_db_engine(database: DatabaseSettings, api: ApiSettings) -> AsyncEngine:
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


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as connection:
        yield connection


DbConnection = Annotated[AsyncConnection, Depends(get_connection)]
