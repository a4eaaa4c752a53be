"""What the monitoring profile reads from PostgreSQL, kept in the maintenance database
(``postgres``) so the application's database and its backups hold the application's
data alone: pg_stat_statements (its view covers every database) and the migrator's
last run per database, which the migrator writes after each run that changes the
schema and the exporter reads (services/monitoring/postgres-exporter/queries.yaml).
The exporter's role may read statistics (pg_monitor) and nothing else.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from psycopg import sql
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from migrator.database import create_migration_engine

log = logging.getLogger("migrator.monitoring")

# The exporter's login role: compose gives the exporter this name (DATA_SOURCE_USER).
EXPORTER_ROLE = "app_exporter"
MAINTENANCE_DATABASE = "postgres"
LAST_RUN = "migrator_last_run"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


LAST_RUN_TABLE = f"""
CREATE TABLE IF NOT EXISTS {LAST_RUN} (
    datname name PRIMARY KEY,
    outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    destination text NOT NULL,
    finished_at timestamptz NOT NULL
)"""


def set_up_monitoring(connection: Connection, owner: str, exporter: bool) -> None:
    """As the superuser, on the maintenance database; idempotent."""
    connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    connection.exec_driver_sql(LAST_RUN_TABLE)
    table, owner_role = sql.Identifier(LAST_RUN), sql.Identifier(owner)
    for statement in (
        sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(table, owner_role),
        # Whoever may read statistics may read the migrator's outcome: the exporter.
        sql.SQL("GRANT SELECT ON {} TO pg_monitor").format(table),
    ):
        connection.exec_driver_sql(statement.as_string())
    if exporter:
        role = sql.Identifier(EXPORTER_ROLE)
        connection.exec_driver_sql(sql.SQL("GRANT pg_monitor TO {}").format(role).as_string())


RECORD = text("""
INSERT INTO migrator_last_run (datname, outcome, destination, finished_at)
VALUES (:datname, :outcome, :destination, now())
ON CONFLICT (datname) DO UPDATE
SET outcome = excluded.outcome, destination = excluded.destination,
    finished_at = excluded.finished_at""")


def record_run(
    url: URL, connect_timeout: float, database: str, outcome: Outcome, destination: str
) -> None:
    """Best effort: a database that cannot take the record (down, or set up before the
    roles step made the table) is logged, and the run's own outcome stands."""
    engine = create_migration_engine(
        url.set(database=MAINTENANCE_DATABASE), connect_timeout, "migrator"
    )
    try:
        with engine.begin() as connection:
            connection.execute(
                RECORD, {"datname": database, "outcome": outcome, "destination": destination}
            )
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        log.warning("could not record the run's outcome for monitoring: %s", reason)
    finally:
        engine.dispose()
