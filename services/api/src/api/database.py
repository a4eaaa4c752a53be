"""One asyncpg pool per worker process, used directly by the routes.

The statements are SQLAlchemy Core, compiled once for asyncpg (api.statements); the
routes run them here on the driver, without SQLAlchemy's execution layer, which cost
about half of the worker's CPU per request (bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import asyncpg
from asyncpg import Connection, Record
from fastapi import Depends, Request

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

log = logging.getLogger("api")

Ran = TypeVar("Ran")

# What failing to get a connection looks like: refused or timed out, or PostgreSQL
# saying no (too many clients, starting up, a wrong password).
UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


@dataclass(frozen=True, slots=True)
class Query:
    """A statement compiled for asyncpg: its SQL ($1, $2...) and the names of its
    parameters in order."""

    sql: str
    names: tuple[str, ...]

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]

    async def fetchrow(self, connection: Connection, **params: Any) -> Record | None:
        row: Record | None = await connection.fetchrow(self.sql, *self.args(params))
        return row

    async def fetch(self, connection: Connection, **params: Any) -> list[Record]:
        rows: list[Record] = await connection.fetch(self.sql, *self.args(params))
        return rows


def stale(connection: Connection, exc: Exception) -> bool:
    """Whether the statement failed because its connection was dead before anything was
    sent: asyncpg's protocol caught mid-error by a message the server sent while the
    connection sat idle ("cannot switch to state ..."), or the connection closed, or
    released by asyncpg when it saw it close. Other client errors (a protocol bug after
    the statement ran, a wrong argument) are not retried, and stay 500s."""
    if isinstance(exc, asyncpg.InternalClientError):
        return "cannot switch to state" in str(exc)
    try:
        closed: bool = connection.is_closed()
    except asyncpg.InterfaceError:  # the proxy was released: asyncpg saw it close
        return True
    return closed


def drop(connection: Connection) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):  # already released
        connection.terminate()


class ReadinessProbe(asyncpg.Record):  # type: ignore[misc]  # asyncpg has no stubs
    """The record class of /readyz's prepared statements: not the routes' (asyncpg's
    default), so asyncpg does not take them for the ones in its statement cache and closes
    each (a protocol Close, which poolers understand) once it is dropped."""


async def keep_session(connection: Connection) -> None:
    """No reset when a connection goes back to the pool: every statement runs on its own
    (autocommit) and nothing sets session state, so there is nothing to undo (asyncpg
    still rolls back a transaction left open). Saves a round trip per request."""


class Database:
    """The worker's pool: a connection per statement, the pool's metrics, and one
    answer (503) to every failure to get a connection.

    asyncpg's pool keeps DB_POOL_SIZE connections open (its floor) and opens up to
    DB_POOL_MAX_OVERFLOW more in a burst, closing those when idle. It connects its
    floor when it is made, so a worker that starts while the database is down keeps
    trying in the background and answers 503 meanwhile, rather than failing to boot.
    """

    def __init__(self, open_pool: Callable[[], Awaitable[asyncpg.Pool]], acquire_timeout: float):
        self.open_pool = open_pool
        self.acquire_timeout = acquire_timeout
        self.pool: asyncpg.Pool | None = None
        self.opening: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, database: ApiDatabaseSettings, api: ApiSettings) -> Database:
        dsn = database.url("asyncpg").set(drivername="postgresql").render_as_string(False)

        def open_pool() -> Awaitable[asyncpg.Pool]:
            pool: Awaitable[asyncpg.Pool] = asyncpg.create_pool(
                dsn,
                min_size=api.db_pool_size,
                max_size=api.db_pool_size + api.db_pool_max_overflow,
                reset=keep_session,
                timeout=database.postgres_connect_timeout,
                server_settings={
                    "application_name": "api",
                    "statement_timeout": str(round(api.db_statement_timeout * 1000)),
                },
            )
            return pool

        instance = cls(open_pool, api.db_pool_timeout)
        try:
            instance.pool = await open_pool()
        except UNREACHABLE as exc:
            log.warning("database unreachable at start (%s); retrying meanwhile", exc)
            instance.opening = asyncio.create_task(instance.keep_trying())
        return instance

    async def keep_trying(self, delay: float = 0.5) -> None:
        while self.pool is None:
            await asyncio.sleep(delay)
            try:
                self.pool = await self.open_pool()
            except UNREACHABLE:
                delay = min(delay * 2, 5.0)
        log.info("database reachable: connection pool open")

    async def close(self) -> None:
        if self.opening is not None:
            self.opening.cancel()
        if self.pool is not None:
            await self.pool.close()

    async def acquire(self) -> Connection:
        pool = self.pool
        try:
            if pool is None:
                raise ConnectionError("no connection yet since this worker started")
            if pool.get_idle_size():
                # A connection is free, so this cannot wait: no timeout (asyncpg makes
                # one a task of its own, about 15 us per request).
                connection: Connection = await pool.acquire()
                return connection
            started = time.perf_counter()
            connection = await pool.acquire(timeout=self.acquire_timeout)
        # Refused or timed-out connects, an exhausted pool, or the server turning us
        # away (too many clients, starting up, a wrong password).
        except UNREACHABLE as exc:
            POOL_TIMEOUTS.inc()
            raise DatabaseUnreachableError(str(exc) or type(exc).__name__) from exc
        waited = time.perf_counter() - started
        if waited > 0.001:
            POOL_WAITS.inc()
            POOL_WAIT_SECONDS.inc(waited)
        return connection

    async def release(self, connection: Connection) -> None:
        assert self.pool is not None
        await self.pool.release(connection)

    async def run(self, statement: Callable[[Connection], Awaitable[Ran]]) -> Ran:
        """The statement on a pooled connection. A connection the server closed while it
        sat in the pool (a restart, a terminated backend) can be handed out in the moment
        before asyncpg has read the news; asyncpg then refuses the statement before
        sending anything, so it runs again, once, on a fresh connection."""
        for attempt in (1, 2):
            connection = await self.acquire()
            try:
                return await statement(connection)
            except (asyncpg.InternalClientError, asyncpg.InterfaceError) as exc:
                if not stale(connection, exc):
                    raise
                drop(connection)
                # The server closed it, so it likely closed the pool's others at the same
                # moment (a restart): replace them all as they are next acquired.
                assert self.pool is not None
                await self.pool.expire_connections()
                if attempt == 2:
                    raise DatabaseUnreachableError(f"connection lost: {exc}") from exc
                log.info("pooled connection was closed by the server; retrying on a new one")
            except OSError as exc:
                # Lost mid-statement: it may or may not have run, so no retry; 503.
                drop(connection)
                raise DatabaseUnreachableError(f"connection lost: {exc}") from exc
            finally:
                await self.release(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    async def check(self, queries: Sequence[Query]) -> None:
        """Prepare every statement, run none: fails (42P01, 42703) when a table or column
        one of them uses is missing, so "ready" means the schema has what this code needs.

        In a transaction: asyncpg prepares with Parse, Describe and Flush, no Sync, which
        leaves the server's statement_timeout clock running until the next Sync; COMMIT
        stops it. Without it, the connection's next statement, seconds later, was
        cancelled at once (tests/api/test_errors.py)."""

        async def prepare_each(connection: Connection) -> None:
            async with connection.transaction():
                for query in queries:
                    await connection.prepare(query.sql, record_class=ReadinessProbe)

        await self.run(prepare_each)

    async def fetchrow(self, query: Query, **params: Any) -> Record | None:
        """One statement on a pooled connection: its row, or None."""
        return await self.run(lambda connection: query.fetchrow(connection, **params))

    async def fetch(self, query: Query, **params: Any) -> list[Record]:
        return await self.run(lambda connection: query.fetch(connection, **params))

    async def sample(self, every_seconds: float = 1.0) -> None:
        """Keep the pool gauges current: sampled, so requests pay nothing for them."""
        while True:
            if self.pool is not None:
                size = self.pool.get_size()
                POOL_OPEN.set(size)
                POOL_CHECKED_OUT.set(size - self.pool.get_idle_size())
                POOL_OVERFLOW.set(max(0, size - self.pool.get_min_size()))
            await asyncio.sleep(every_seconds)


async def get_database(request: Request) -> Database:
    # async def: FastAPI runs a plain def dependency in a thread, ~100 us per request.
    database: Database = request.app.state.database
    return database


Db = Annotated[Database, Depends(get_database)]
