"""The pool in process, on a real database, for the tests of api.db."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import URL

from api.db.pool import Pool
from api.settings import ApiDatabaseSettings, ApiSettings
from harness.databases import new_database
from harness.roles import as_api_role


@pytest.fixture(scope="module")
def pool_database(server_url: URL) -> Iterator[URL]:
    """A database at head for this module's pools; a test that changes it puts it back."""
    with new_database(server_url, revision="head", prefix="pool") as url:
        yield url


def dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def open_pool(url: URL, **settings: Any) -> AsyncIterator[Pool]:
    """The worker's Pool, as the API role, with these ApiSettings."""
    pool = await Pool.open(
        ApiDatabaseSettings(database_url=as_api_role(url).render_as_string(False)),
        ApiSettings(**settings),
    )
    try:
        yield pool
    finally:
        await pool.close()


async def backend_pids(admin: asyncpg.Connection) -> list[int]:
    """The server processes of the API's connections to the admin's database."""
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity"
        " WHERE application_name = 'api' AND datname = current_database() ORDER BY pid"
    )
    return [row["pid"] for row in rows]
