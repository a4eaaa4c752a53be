"""/readyz's question to the database: does the schema have what this code uses?"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from asyncpg import Connection

from api.db.pool import Database
from api.db.query import Query


class ReadinessProbe(asyncpg.Record):  # type: ignore[misc]  # asyncpg has no stubs
    """The record class of the probe's prepared statements: not the routes' (asyncpg's
    default), so asyncpg does not take them for the ones in its statement cache, and
    closes each (a protocol Close, which poolers understand) once it is dropped."""


async def prepare_each(connection: Connection, queries: Sequence[Query]) -> None:
    """Prepare every statement, run none: fails (42P01, 42703) when a table or column one
    of them uses is missing.

    In a transaction: asyncpg prepares with Parse, Describe and Flush, no Sync, which
    leaves the server's statement_timeout clock running until the next Sync; COMMIT
    stops it. Without it, the connection's next statement, seconds later, was cancelled
    at once (tests/api/db/test_readiness.py)."""
    async with connection.transaction():
        for query in queries:
            await connection.prepare(query.sql, record_class=ReadinessProbe)


async def check_schema(database: Database, queries: Sequence[Query]) -> None:
    """Raises what the database says when any of ``queries`` cannot run on its schema,
    or DatabaseUnreachableError; returns when every one can."""
    await database.run(lambda connection: prepare_each(connection, queries))
