"""What the pool relies on in asyncpg (api.db.connections), each pinned against a real
server: an asyncpg release that changes one of these fails here, not in production."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from sqlalchemy.engine import URL

from api.db.connections import STATE_SWITCH_REFUSED, closed_before_sending, discard, keep_session
from api.http.database_errors import answer_for
from tests.api.db.conftest import dsn


async def one_statement_after_terminating_its_backend(
    admin: asyncpg.Connection, url: URL, delay: float
) -> tuple[asyncpg.Connection, Exception | None]:
    """A pooled connection whose backend is terminated while it sits idle, then a
    statement on it ``delay`` seconds later: the connection, and what the statement raised."""
    pool = await asyncpg.create_pool(dsn(url), min_size=1, max_size=1, reset=keep_session)
    try:
        async with pool.acquire() as connection:
            pid = connection.get_server_pid()
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await asyncio.sleep(delay)
        async with pool.acquire() as connection:
            try:
                await connection.fetchval("SELECT 1")
            except Exception as exc:
                return connection, exc
            return connection, None
    finally:
        pool.terminate()


async def refused_on_a_connection_closed_while_idle(url: URL) -> asyncpg.InternalClientError:
    """The error asyncpg raises for a statement started on a pooled connection whose
    backend was terminated while it sat idle, in the moment before asyncpg has read the
    news (the window is short: try until it is hit)."""
    admin = await asyncpg.connect(dsn(url))
    give_up_at = time.monotonic() + 30
    try:
        trial = 0
        while time.monotonic() < give_up_at:
            delay = (trial % 5) * 0.0002
            connection, raised = await one_statement_after_terminating_its_backend(
                admin, url, delay
            )
            trial += 1
            if isinstance(raised, asyncpg.InternalClientError):
                assert closed_before_sending(connection, raised), raised
                return raised
    finally:
        await admin.close()
    raise AssertionError(f"asyncpg never refused a statement in {trial} tries")


def test_a_statement_on_a_connection_closed_while_idle_is_refused_before_sending(
    pool_database: URL,
) -> None:
    refused = asyncio.run(refused_on_a_connection_closed_while_idle(pool_database))
    assert STATE_SWITCH_REFUSED in str(refused)


async def lost_mid_statement(url: URL) -> tuple[bool, BaseException]:
    admin = await asyncpg.connect(dsn(url))
    connection = await asyncpg.connect(dsn(url))
    try:
        running = asyncio.create_task(connection.fetchval("SELECT pg_sleep(10)"))
        await asyncio.sleep(0.3)  # it is on the server now
        await admin.execute("SELECT pg_terminate_backend($1)", connection.get_server_pid())
        try:
            await running
        except Exception as exc:
            return closed_before_sending(connection, exc), exc
        raise AssertionError("the statement survived its backend")
    finally:
        connection.terminate()
        await admin.close()


def test_a_connection_lost_mid_statement_is_not_taken_for_one_closed_before(
    pool_database: URL,
) -> None:
    """It may have run, so it must not be retried, and it is a 503, not a 500."""
    retryable, lost = asyncio.run(lost_mid_statement(pool_database))
    assert not retryable
    assert isinstance(lost, asyncpg.PostgresError), repr(lost)
    assert answer_for(lost.sqlstate, None).status == 503, lost.sqlstate


async def reused_after_discard(url: URL) -> tuple[int, int]:
    pool = await asyncpg.create_pool(dsn(url), min_size=1, max_size=1, reset=keep_session)
    try:
        async with pool.acquire() as connection:
            first = connection.get_server_pid()
            discard(connection)
        async with pool.acquire() as connection:
            return first, connection.get_server_pid()
    finally:
        await pool.close()


def test_a_discarded_connection_is_replaced_by_the_pool(pool_database: URL) -> None:
    first, then = asyncio.run(reused_after_discard(pool_database))
    assert first != then


async def in_transaction_after_release(url: URL) -> bool:
    pool = await asyncpg.create_pool(dsn(url), min_size=1, max_size=1, reset=keep_session)
    try:
        async with pool.acquire() as connection:
            await connection.execute("BEGIN")  # left open by a buggy route
        async with pool.acquire() as connection:
            status: bool = connection.is_in_transaction()
            return status
    finally:
        await pool.close()


def test_the_pool_still_rolls_back_a_transaction_left_open(pool_database: URL) -> None:
    """keep_session skips asyncpg's reset (a round trip per request), which is safe only
    because asyncpg still rolls back a transaction a connection comes back with."""
    assert asyncio.run(in_transaction_after_release(pool_database)) is False
