"""/readyz's question to the database: does the schema have what this code uses? Every
statement the code runs is registered here (``in_use``) and prepared, never run."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg
from asyncpg import Connection

from api.db.pool import Pool
from api.db.query import Query

log = logging.getLogger("api")

LOCK_WAIT_MS = 250

# Every statement the code runs, so "ready" means "the schema has every table and column
# this code uses" (and extra ones do no harm).
STATEMENTS_IN_USE: list[Query] = []


def in_use(query: Query) -> Query:
    """``query``, registered for the readiness check."""
    STATEMENTS_IN_USE.append(query)
    return query


class ReadinessProbe(asyncpg.Record):  # type: ignore[misc]  # asyncpg has no stubs
    """The record class of the probe's prepared statements: not the routes' (asyncpg's
    default), so asyncpg does not take them for the ones in its statement cache, and
    closes each (a protocol Close, which poolers understand) once it is dropped."""


async def prepare_each(connection: Connection, queries: Sequence[Query]) -> None:
    """Prepare every statement, run none: fails (42P01, 42703) when a table or column one
    of them uses is missing.

    In a transaction: asyncpg prepares with Parse, Describe and Flush, no Sync, which
    leaves the server's statement_timeout clock running until the next Sync; COMMIT
    stops it, or the connection's next statement is cancelled at once.

    Preparing takes a table's lightest lock, which waits behind a migration's ALTER
    TABLE. A table locked past LOCK_WAIT_MS counts as ready: the probe cannot look, and
    marking every api down for the length of one ALTER would be an outage of its own."""
    try:
        async with connection.transaction():
            await connection.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")
            for query in queries:
                await connection.prepare(query.sql, record_class=ReadinessProbe)
    except asyncpg.LockNotAvailableError:
        log.info("readiness: a table is locked (a migration?); counted as ready")


async def check_schema(pool: Pool, queries: Sequence[Query] = STATEMENTS_IN_USE) -> None:
    """Raises what the database says when any of ``queries`` cannot run on its schema,
    or DatabaseUnreachableError; returns when every one can."""
    await pool.run(lambda connection: prepare_each(connection, queries))
