"""The API role's privileges: read and write rows, nothing more.

Granted by the schema owner after every run that changes the schema, on its own
tables, so a table from a new revision is covered at once. The role itself (its
login and password) is the roles step's job (migrator.steps.roles), not the owner's.
"""

from __future__ import annotations

import logging

from psycopg import sql
from sqlalchemy import Connection, text

from migrator.backfill import PROGRESS
from migrator.errors import MigratorError

log = logging.getLogger("migrator")


class ApiRoleError(MigratorError):
    pass


ROW_PRIVILEGES = sql.SQL("SELECT, INSERT, UPDATE, DELETE")


def grant_api_role(connection: Connection, role: str) -> None:
    owner = connection.scalar(text("SELECT current_user"))
    if role == owner:
        raise ApiRoleError(f"API_DB_USER ({role}) must differ from the schema owner ({owner})")
    if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
        raise ApiRoleError(
            f"the API role {role} (API_DB_USER) does not exist: the roles step creates it "
            "(docker compose run --rm roles), or your database administrator does"
        )
    api = sql.Identifier(role)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(api),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA public TO {}").format(ROW_PRIVILEGES, api),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(api),
        # Tables and sequences that later revisions create are covered too.
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {} ON TABLES TO {}").format(
            ROW_PRIVILEGES, api
        ),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(api),
        # The schema's version is the migrator's to write; the API may only read it.
        sql.SQL("REVOKE INSERT, UPDATE, DELETE ON TABLE alembic_version FROM {}").format(api),
    ]
    # A backfill's progress (migrator.backfill), while one is unfinished: not the API's.
    if connection.scalar(text("SELECT to_regclass(:name)"), {"name": PROGRESS}) is not None:
        statements.append(
            sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(sql.Identifier(PROGRESS), api)
        )
    for statement in statements:
        connection.exec_driver_sql(statement.as_string())
    connection.commit()
    log.info("granted the API role %s row privileges on every table in schema public", role)
