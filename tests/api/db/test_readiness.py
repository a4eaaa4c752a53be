"""/readyz (api.db.readiness): ready means the schema has every table and column this code
uses; probing leaves nothing behind on the connection."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL

from api.db.pool import Pool
from api.db.query import Query
from api.db.readiness import STATEMENTS_IN_USE, check_schema, prepare_each
from api.posts.statements import POST_COLUMNS, POSTS_PAGE
from api.settings import ApiDatabaseSettings, ApiSettings
from api.users.statements import USER_BY_ID, USER_COLUMNS, USERS_PAGE
from harness.databases import connect
from harness.processes import alembic, running_api
from harness.revisions import revision_before, revision_named
from harness.roles import as_owner
from tests.api.db.conftest import dsn
from tests.api.factories import AS_OWNER, create_post, create_user, unique, user_body


def test_schema_behind_the_code_is_503_saying_so(empty_database: URL, log_dir: Path) -> None:
    alembic(empty_database, "upgrade", "head")
    with (
        running_api(empty_database, log_dir) as api,
        httpx.Client(base_url=api.base_url, timeout=30, auth=AS_OWNER) as client,
    ):
        user = create_user(client)
        # Back to before "add user bio": users.bio is gone.
        alembic(empty_database, "downgrade", str(revision_before(revision_named("add user bio"))))

        for response in (
            client.get(f"/users/{user['id']}"),
            client.get("/users"),
            client.post(
                "/users", json=user_body(username=unique(), email=f"{unique()}@example.com")
            ),
            client.get("/readyz"),
        ):
            assert response.status_code == 503, response.text
            assert "schema is behind" in response.json()["detail"]
        # Requests that do not need the missing column still work.
        assert client.get("/posts").status_code == 200

        alembic(empty_database, "upgrade", "head")
        assert client.get("/readyz").status_code == 200
        assert client.get(f"/users/{user['id']}").json() == {**user, "bio": None}


def test_readiness_leaves_no_statement_clock_running_on_its_connection(
    migrated_database: URL, log_dir: Path
) -> None:
    """asyncpg prepares with Parse, Describe and Flush, no Sync, so PostgreSQL's
    statement_timeout clock keeps running after a bare prepare: /readyz once left it
    running when every statement it prepares was already in the connection's cache, and
    the next statement on that connection, however quick, was cancelled once the timeout
    had passed (a spurious 503 every few hundred thousand requests under load)."""
    with (
        running_api(
            migrated_database, log_dir, DB_STATEMENT_TIMEOUT="0.5",
            WEB_CONCURRENCY="1", DB_POOL_SIZE="1", DB_POOL_MAX_OVERFLOW="0",
        ) as api,
        httpx.Client(base_url=api.base_url, timeout=15, auth=AS_OWNER) as client,
    ):  # fmt: skip
        # One worker, one connection: every request shares it. Each statement once, so
        # all of them are in its statement cache.
        gone = create_user(client)
        post = create_post(client, gone["id"])
        for path in ("/users", "/posts", f"/posts/{post['id']}", f"/users/{gone['id']}/posts"):
            assert client.get(path).status_code == 200, path
        assert client.delete(f"/posts/{post['id']}").status_code == 204
        assert client.delete(f"/users/{gone['id']}").status_code == 204
        user = create_user(client)
        assert client.get(f"/users/{user['id']}").status_code == 200
        for _ in range(2):
            assert client.get("/readyz").status_code == 200
            time.sleep(0.8)  # longer than DB_STATEMENT_TIMEOUT, idle in the pool
            response = client.get(f"/users/{user['id']}")
            assert response.status_code == 200, response.text


PREPARED_ON_THIS_CONNECTION = Query("SELECT count(*) FROM pg_prepared_statements", ())


def test_readiness_leaves_no_prepared_statements_behind(migrated_database: URL) -> None:
    """Each /readyz prepares every statement; asyncpg never closed those whose text was
    also in its cache, so they piled up on the server, ten per probe per connection."""

    async def probe_many_times() -> int:
        pool = await Pool.open(
            ApiDatabaseSettings(database_url=migrated_database.render_as_string(False)),
            ApiSettings(db_pool_size=1, db_pool_max_overflow=0),
        )
        try:
            # The reads into the connection's statement cache, as the routes put them.
            await pool.fetchrow(USER_BY_ID, user_id=1)
            await pool.fetch(USERS_PAGE, after=0, look_ahead_limit=2)
            await pool.fetch(POSTS_PAGE, after=0, look_ahead_limit=2, page_bytes=1024)
            for _ in range(5):
                await check_schema(pool)
            row = await pool.fetchrow(PREPARED_ON_THIS_CONNECTION)
            assert row is not None
            return int(row[0])
        finally:
            await pool.close()

    # The three cached reads, this count, and at most the last probe's statement, whose
    # Close is sent with the next statement asyncpg prepares.
    assert asyncio.run(probe_many_times()) <= 5


async def statements_after_each_probe(url: URL) -> list[str]:
    """Each statement probed alone on a new connection, then, after longer than its
    statement_timeout, one statement more: what went wrong, if anything."""
    failures = []
    for query in STATEMENTS_IN_USE:
        connection = await asyncpg.connect(dsn(url), server_settings={"statement_timeout": "150"})
        try:
            await prepare_each(connection, [query])
            await asyncio.sleep(0.3)
            await connection.fetchval("SELECT 1")
        except asyncpg.PostgresError as exc:
            failures.append(f"{query.sql[:60]}...: {exc}")
        finally:
            await connection.close()
    return failures


def test_probing_leaves_no_statement_clock_running(pool_database: URL) -> None:
    """asyncpg prepares with Parse, Describe and Flush, no Sync: the server's
    statement_timeout clock, started by the Parse, runs on while the connection sits in
    the pool, and its next statement, however quick, is cancelled at once."""
    assert asyncio.run(statements_after_each_probe(pool_database)) == []


def columns_the_code_reads() -> list[tuple[str, str]]:
    return [(column.class_.__tablename__, column.key) for column in (*USER_COLUMNS, *POST_COLUMNS)]


@pytest.fixture(scope="module")
def probed_api(
    pool_database: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    with (
        running_api(pool_database, tmp_path_factory.mktemp("readyz"), WEB_CONCURRENCY="1") as api,
        httpx.Client(base_url=api.base_url, timeout=30, auth=AS_OWNER) as client,
    ):
        yield client


@pytest.mark.parametrize(("table", "column"), columns_the_code_reads())
def test_any_column_the_code_reads_missing_is_not_ready(
    pool_database: URL, probed_api: httpx.Client, table: str, column: str
) -> None:
    rename = 'ALTER TABLE {} RENAME COLUMN "{}" TO "{}"'
    with connect(as_owner(pool_database)) as owner:
        owner.execute(rename.format(table, column, f"{column}_gone"))
        try:
            response = probed_api.get("/readyz")
            assert response.status_code == 503, f"{table}.{column} gone, yet: {response.text}"
            assert "schema is behind" in response.json()["detail"]
        finally:
            owner.execute(rename.format(table, f"{column}_gone", column))
    assert probed_api.get("/readyz").status_code == 200


def test_a_table_locked_by_a_migration_is_ready_at_once(
    pool_database: URL, probed_api: httpx.Client
) -> None:
    """A migration's ALTER TABLE holds (or waits for) ACCESS EXCLUSIVE: the probe cannot
    look meanwhile, and answers ready rather than wait, or mark every api down."""
    with connect(as_owner(pool_database)) as owner:
        owner.execute("BEGIN")
        owner.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        try:
            started = time.monotonic()
            response = probed_api.get("/readyz")
            waited = time.monotonic() - started
        finally:
            owner.execute("ROLLBACK")
    assert response.status_code == 200
    assert waited < 1.5, f"waited {waited:.2f}s behind the lock"
