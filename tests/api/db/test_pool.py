"""The worker's pool (api.db.pool): every failure to get a connection is a quick 503 with
Retry-After, and the pool recovers by itself."""

import asyncio
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL

from api.db.errors import DatabaseUnreachableError
from api.db.query import Query
from api.http.database_errors import answer_for
from harness.databases import connect
from harness.postgres import PostgresServer
from harness.processes import running_api
from tests.api.db.conftest import backend_pids, dsn, open_pool
from tests.api.factories import create_user


def test_stopped_database_gives_503_quickly_then_recovers(
    own_server: PostgresServer, own_migrated_database: URL, log_dir: Path
) -> None:
    database = own_migrated_database
    with (
        running_api(database, log_dir, DB_POOL_TIMEOUT="2") as api,
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        user = create_user(client)
        own_server.stop()

        for path in (f"/users/{user['id']}", "/posts", "/readyz"):
            started = time.monotonic()
            response = client.get(path)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": "database unavailable"}
            assert response.headers["retry-after"] == "5"
            # Bounded by the connect and pool timeouts, not by TCP's minutes-long retries.
            assert elapsed < 10, f"{path} took {elapsed:.1f}s"
        assert client.get("/healthz").status_code == 200  # liveness needs no database

        own_server.start()
        # Pooled connections died with the server, which told them so as it stopped: the
        # pool has seen each close and reconnects it on its next use, not a request lost.
        statuses = [client.get(f"/users/{user['id']}").status_code for _ in range(10)]
        assert statuses == [200] * 10
        assert client.get(f"/users/{user['id']}").json() == user


def test_workers_that_start_while_the_database_is_down_serve_503_then_recover(
    own_server: PostgresServer, own_migrated_database: URL, log_dir: Path
) -> None:
    database = own_migrated_database
    own_server.stop()  # the fixture removes it, running or not
    with (
        running_api(database, log_dir) as api,  # boots: the pool opens in the background
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        assert client.get("/healthz").status_code == 200
        for path in ("/users/1", "/readyz"):
            response = client.get(path)
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": "database unavailable"}
        own_server.start()
        deadline = time.monotonic() + 20  # the retry's back-off tops out at 5 s
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, api.log()
            time.sleep(0.2)
        assert client.get("/users/1").status_code == 404
        assert "database reachable: connection pool open" in api.log()


def test_a_statement_past_db_statement_timeout_is_cancelled_and_503(
    migrated_database: URL, log_dir: Path
) -> None:
    with (
        running_api(migrated_database, log_dir, DB_STATEMENT_TIMEOUT="1") as api,
        httpx.Client(base_url=api.base_url, timeout=15) as client,
    ):
        user = create_user(client)
        with connect(migrated_database) as locker:
            # Every read of users now waits for this transaction: the statement runs long.
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            response = client.get(f"/users/{user['id']}")
            elapsed = time.monotonic() - started
            locker.execute("ROLLBACK")
        assert response.status_code == 503, response.text
        assert response.json() == {"detail": "database did not answer in time"}
        assert response.headers["retry-after"] == "5"
        assert 0.9 < elapsed < 5, f"cancelled after {elapsed:.1f}s, DB_STATEMENT_TIMEOUT=1"
        assert client.get(f"/users/{user['id']}").json() == user


SELECT_ONE = Query("SELECT 1 AS one", ())


async def statements_after_terminating_idle_backends(url: URL, trials: int) -> list[object]:
    """Each trial: the pool's one connection terminated by the server while idle, then a
    statement at once. What each statement gave: its row's value, or what it raised."""
    outcomes: list[object] = []
    admin = await asyncpg.connect(dsn(url))
    try:
        async with open_pool(url, db_pool_size=1, db_pool_max_overflow=0) as pool:
            for trial in range(trials):
                (pid,) = await backend_pids(admin)
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
                await asyncio.sleep((trial % 5) * 0.0002)
                try:
                    row = await pool.fetchrow(SELECT_ONE)
                    outcomes.append(row["one"] if row else None)
                except Exception as exc:
                    outcomes.append(exc)
                while len(await backend_pids(admin)) != 1:  # the pool's floor, reconnected
                    await pool.fetchrow(SELECT_ONE)
    finally:
        await admin.close()
    return outcomes


def answers_503(outcome: object) -> bool:
    if isinstance(outcome, DatabaseUnreachableError):
        return True
    return isinstance(outcome, asyncpg.PostgresError) and (
        answer_for(outcome.sqlstate, None).status == 503
    )


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_statement_retried(
    pool_database: URL, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart or a terminated backend leaves dead connections in the pool, which asyncpg
    may hand out before it has read the news: a statement refused before it was sent runs
    again on a new connection; one that went out may have run, so it is a 503."""
    with caplog.at_level(logging.INFO, logger="api"):
        outcomes = asyncio.run(statements_after_terminating_idle_backends(pool_database, 40))
    retried = caplog.text.count("retrying on a new one")
    assert retried, f"no statement was run again on a new connection: {outcomes}"
    assert all(outcome == 1 or answers_503(outcome) for outcome in outcomes), outcomes
    assert outcomes.count(1) >= retried


async def sequence_calls_after_a_lost_statement(url: URL) -> tuple[object, int]:
    admin = await asyncpg.connect(dsn(url))
    sequence = f"calls_{secrets.token_hex(4)}"
    await admin.execute(f"CREATE SEQUENCE {sequence}; GRANT USAGE ON SEQUENCE {sequence} TO PUBLIC")
    try:
        async with open_pool(url, db_pool_size=1, db_pool_max_overflow=0) as pool:
            # nextval is not rolled back: it counts every time the statement ran.
            statement = Query(f"SELECT nextval('{sequence}'), pg_sleep(3)", ())
            running = asyncio.create_task(pool.fetchrow(statement))
            await asyncio.sleep(0.5)
            (pid,) = await backend_pids(admin)
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            try:
                outcome: object = await running
            except Exception as exc:
                outcome = exc
        calls: int = await admin.fetchval(f"SELECT last_value FROM {sequence}")
        return outcome, calls
    finally:
        await admin.execute(f"DROP SEQUENCE {sequence}")
        await admin.close()


def test_a_statement_that_reached_the_server_is_never_run_twice(pool_database: URL) -> None:
    outcome, calls = asyncio.run(sequence_calls_after_a_lost_statement(pool_database))
    assert calls == 1, f"the statement ran {calls} times"
    assert answers_503(outcome), repr(outcome)


async def wait_on_an_exhausted_pool(url: URL, pool_timeout: float) -> tuple[object, float]:
    async with open_pool(
        url, db_pool_size=1, db_pool_max_overflow=0, db_pool_timeout=pool_timeout
    ) as pool:
        held = await pool.acquire()  # the pool's only connection, busy elsewhere
        started = time.monotonic()
        try:
            outcome: object = await asyncio.wait_for(pool.fetchrow(SELECT_ONE), 30)
        except Exception as exc:
            outcome = exc
        waited = time.monotonic() - started
        await pool.release(held)
        return outcome, waited


def test_an_exhausted_pool_gives_up_after_db_pool_timeout(pool_database: URL) -> None:
    outcome, waited = asyncio.run(wait_on_an_exhausted_pool(pool_database, 0.5))
    assert isinstance(outcome, DatabaseUnreachableError), repr(outcome)
    assert 0.4 < waited < 3, f"waited {waited:.2f}s with DB_POOL_TIMEOUT=0.5"


def test_a_connection_lost_mid_request_is_a_503(migrated_database: URL, log_dir: Path) -> None:
    with (
        running_api(migrated_database, log_dir, WEB_CONCURRENCY="1") as api,
        httpx.Client(base_url=api.base_url, timeout=30) as client,
        connect(migrated_database) as locker,
    ):
        user = create_user(client)
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(client.get, f"/users/{user['id']}")
            give_up_at = time.monotonic() + 10
            while not (blocked := locker.execute(BLOCKED_API_BACKENDS).fetchall()):
                assert time.monotonic() < give_up_at, "the request never reached the lock"
                time.sleep(0.05)
            locker.execute("SELECT pg_terminate_backend(%s)", blocked[0])
            response = waiting.result(timeout=30)
        locker.execute("ROLLBACK")
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert client.get(f"/users/{user['id']}").json() == user


BLOCKED_API_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'api'"
    " AND datname = current_database() AND wait_event_type = 'Lock'"
)
