"""The exporter's queries (services/monitoring/postgres-exporter/queries.yaml) run as
its role, app_exporter, on a real PostgreSQL with pg_stat_statements preloaded, as the db
service runs: each returns the columns its metrics declare, the statements' names and
labels are upstream's collector's, and a transaction holding a lock others wait for is
seen with its age (LongTransactionHoldingLocks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy.engine import URL

from harness.databases import connect, new_database
from harness.postgres import throwaway_server
from harness.roles import EXPORTER_PASSWORD, as_api_role
from migrator.monitoring import EXPORTER_ROLE, MAINTENANCE_DATABASE
from tests.monitoring.tools import MONITORING

QUERIES: dict[str, Any] = yaml.safe_load(
    (MONITORING / "postgres-exporter" / "queries.yaml").read_text()
)
# postgres_exporter's stat_statements collector (0.13 and later): its names and labels.
UPSTREAM_LABELS = {"user", "datname", "queryid"}
UPSTREAM_COUNTERS = {
    "calls_total", "seconds_total", "rows_total", "block_read_seconds_total",
    "block_write_seconds_total",
}  # fmt: skip


@pytest.fixture(scope="module")
def database() -> Iterator[URL]:
    """A server as the db service runs it, a database at head, and the roles step's roles."""
    server = throwaway_server(settings=("shared_preload_libraries=pg_stat_statements",))
    try:
        server.start()
        with new_database(server.url, revision="head") as url:
            yield url
    finally:
        server.remove()


def as_exporter(url: URL) -> psycopg.Connection[tuple[Any, ...]]:
    return connect(
        url.set(database=MAINTENANCE_DATABASE, username=EXPORTER_ROLE, password=EXPORTER_PASSWORD)
    )


def run_query(url: URL, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with as_exporter(url) as exporter:
        cursor = exporter.execute(QUERIES[name]["query"])
        assert cursor.description is not None
        return [column.name for column in cursor.description], cursor.fetchall()


def declared(name: str) -> dict[str, str]:
    """Column -> its usage (LABEL, GAUGE, COUNTER), as the file declares them."""
    return {
        column: spec["usage"]
        for metric in QUERIES[name]["metrics"]
        for column, spec in metric.items()
    }


@pytest.mark.parametrize("name", list(QUERIES))
def test_each_query_runs_as_the_exporter_and_returns_its_declared_columns(
    database: URL, name: str
) -> None:
    with connect(as_api_role(database)) as api:
        for _ in range(3):
            api.execute("SELECT count(*) FROM users")
    columns, rows = run_query(database, name)
    assert set(columns) == set(declared(name)), name
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        for column, usage in declared(name).items():
            if usage != "LABEL":  # a number, as the exporter reads a metric's value
                assert isinstance(values[column], int | float | Decimal), f"{name}.{column}"


def test_the_top_statements_have_upstreams_names_labels_and_bound(database: URL) -> None:
    usage = declared("pg_stat_statements")
    assert {column for column, kind in usage.items() if kind == "LABEL"} == UPSTREAM_LABELS
    assert {column for column, kind in usage.items() if kind == "COUNTER"} == UPSTREAM_COUNTERS
    for name in ("pg_stat_statements", "pg_stat_statements_query"):
        assert "LIMIT 100" in QUERIES[name]["query"], f"{name}: unbounded"
    with connect(as_api_role(database)) as api:
        api.execute("SELECT count(*) FROM posts")
    columns, rows = run_query(database, "pg_stat_statements")
    statements = [dict(zip(columns, row, strict=True)) for row in rows]
    assert any(s["datname"] == database.database and s["calls_total"] for s in statements)
    _, texts = run_query(database, "pg_stat_statements_query")
    queryids = [row[0] for row in texts]
    assert len(queryids) == len(set(queryids)), "one text per queryid, or the scrape fails"


def test_a_transaction_holding_a_lock_others_wait_for_is_seen(database: URL) -> None:
    columns, rows = run_query(database, "pg_locks_blocking")
    assert dict(zip(columns, rows[0], strict=True))["sessions"] == 0
    with connect(database) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        waiter = threading.Thread(target=wait_for_users, args=(database,))
        waiter.start()
        try:
            deadline = time.monotonic() + 10
            while True:
                columns, rows = run_query(database, "pg_locks_blocking")
                blocking = dict(zip(columns, rows[0], strict=True))
                if blocking["sessions"] == 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert blocking["sessions"] == 1
            assert blocking["oldest_transaction_seconds"] > 0
            columns, rows = run_query(database, "pg_locks_waiting")
            waiting = [dict(zip(columns, row, strict=True)) for row in rows]
            assert {"datname": database.database, "mode": "AccessShareLock", "count": 1} in waiting
        finally:
            holder.execute("ROLLBACK")
            waiter.join(timeout=10)


def wait_for_users(database: URL) -> None:
    with connect(as_api_role(database)) as api:
        api.execute("SELECT count(*) FROM users")
