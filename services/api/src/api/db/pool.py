"""One asyncpg pool per worker process: statements compiled once (api.db.query) run
here on the driver, without SQLAlchemy's execution layer (bench/README.md says why)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from asyncpg import Connection, Record

from api.db.connections import UNREACHABLE, closed_before_sending, discard, keep_session
from api.db.errors import DatabaseUnreachableError
from api.db.query import Query
from api.observability.metrics import POOL_TIMEOUTS, POOL_WAIT_SECONDS, POOL_WAITS
from api.settings import ApiDatabaseSettings, ApiSettings

log = logging.getLogger("api")

Ran = TypeVar("Ran")
OpenPool = Callable[[], Awaitable[asyncpg.Pool]]


def pool_opener(database_settings: ApiDatabaseSettings, api_settings: ApiSettings) -> OpenPool:
    """How this worker's pool is made: DB_POOL_SIZE connections kept open (asyncpg's
    floor), up to DB_POOL_MAX_OVERFLOW more in a burst (closed when idle), every
    statement under DB_STATEMENT_TIMEOUT."""
    dsn = database_settings.url("asyncpg").set(drivername="postgresql").render_as_string(False)

    def open_pool() -> Awaitable[asyncpg.Pool]:
        pool: Awaitable[asyncpg.Pool] = asyncpg.create_pool(
            dsn,
            min_size=api_settings.db_pool_size,
            max_size=api_settings.db_pool_size + api_settings.db_pool_max_overflow,
            reset=keep_session,
            timeout=database_settings.postgres_connect_timeout,
            server_settings={
                "application_name": "api",
                "statement_timeout": str(round(api_settings.db_statement_timeout * 1000)),
            },
        )
        return pool

    return open_pool


class Pool:
    """The worker's pool: a connection per statement, and one answer
    (DatabaseUnreachableError, a 503) to every failure to get one.

    asyncpg connects the pool's floor when it is made, so a worker that starts while the
    database is down keeps trying in the background and answers 503 meanwhile, rather
    than failing to boot.
    """

    def __init__(self, open_pool: OpenPool, acquire_timeout: float) -> None:
        self.open_pool = open_pool
        self.acquire_timeout = acquire_timeout
        self.driver_pool: asyncpg.Pool | None = None
        self.opening: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, database_settings: ApiDatabaseSettings, api_settings: ApiSettings) -> Pool:
        opener = pool_opener(database_settings, api_settings)
        instance = cls(opener, api_settings.db_pool_timeout)
        try:
            instance.driver_pool = await instance.open_pool()
        except UNREACHABLE as exc:
            log.warning("database unreachable at start (%s); retrying meanwhile", exc)
            instance.opening = asyncio.create_task(instance.keep_trying())
        return instance

    async def keep_trying(self, delay: float = 0.5) -> None:
        while self.driver_pool is None:
            await asyncio.sleep(delay)
            try:
                self.driver_pool = await self.open_pool()
            except UNREACHABLE:
                delay = min(delay * 2, 5.0)
        log.info("database reachable: connection pool open")

    async def close(self) -> None:
        if self.opening is not None:
            self.opening.cancel()
        if self.driver_pool is not None:
            await self.driver_pool.close()

    async def acquire(self) -> Connection:
        """A pooled connection, waiting at most DB_POOL_TIMEOUT for one."""
        driver_pool = self.driver_pool
        try:
            if driver_pool is None:
                raise ConnectionError("no connection yet since this worker started")
            if driver_pool.get_idle_size():
                # A connection is free, so this cannot wait: no timeout (asyncpg makes
                # a timeout a task of its own, a cost on every request).
                connection: Connection = await driver_pool.acquire()
                return connection
            started = time.perf_counter()
            connection = await driver_pool.acquire(timeout=self.acquire_timeout)
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
        assert self.driver_pool is not None
        await self.driver_pool.release(connection)

    async def run(self, statement: Callable[[Connection], Awaitable[Ran]]) -> Ran:
        """The statement on a pooled connection. A connection the server closed while it
        sat in the pool (a restart, a terminated backend) can be handed out in the moment
        before asyncpg has read the news; asyncpg then refuses the statement before
        sending anything, so it runs again, once, on a fresh connection. A connection
        lost mid-statement is not retried: the statement may have run."""
        for attempt in (1, 2):
            connection = await self.acquire()
            try:
                return await statement(connection)
            except (asyncpg.InternalClientError, asyncpg.InterfaceError) as exc:
                if not closed_before_sending(connection, exc):
                    raise
                discard(connection)
                # The server closed it, so it likely closed the pool's others at the same
                # moment (a restart): replace them all as they are next acquired.
                assert self.driver_pool is not None
                await self.driver_pool.expire_connections()
                if attempt == 2:
                    raise DatabaseUnreachableError(f"connection lost: {exc}") from exc
                log.info("pooled connection was closed by the server; retrying on a new one")
            finally:
                await self.release(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    async def fetchrow(self, query: Query, **params: Any) -> Record | None:
        """One statement on a pooled connection: its row, or None."""
        return await self.run(lambda connection: query.fetchrow(connection, **params))

    async def fetch(self, query: Query, **params: Any) -> list[Record]:
        return await self.run(lambda connection: query.fetch(connection, **params))
