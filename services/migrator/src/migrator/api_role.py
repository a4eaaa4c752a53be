"""The API's own database role: it may read and write rows, and nothing more.

Ensured on every ``upgrade`` (idempotently), so a database created before the role
existed gets it too, and a rotated password in the secret reaches the database.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, text

log = logging.getLogger("migrator")

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


class ApiRoleError(RuntimeError):
    pass


def ensure_api_role(connection: Connection, role: str, password: str) -> None:
    owner = connection.scalar(text("SELECT current_user"))
    if role == owner:
        raise ApiRoleError(f"API_DB_USER ({role}) must differ from the schema owner ({owner})")
    # The role name is validated by MigratorSettings (lowercase identifier), so quoting
    # it is enough; the password travels as a string literal quoted by the server.
    quoted = f'"{role}"'
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    verb = "ALTER" if exists else "CREATE"
    literal = connection.scalar(text("SELECT quote_literal(:p)"), {"p": password})
    connection.exec_driver_sql(
        f"{verb} ROLE {quoted} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
        f"NOREPLICATION NOBYPASSRLS PASSWORD {literal}"
    )
    database = connection.scalar(text("SELECT quote_ident(current_database())"))
    for statement in (
        f"GRANT CONNECT ON DATABASE {database} TO {quoted}",
        # Nobody but the owner creates objects in the schema (PostgreSQL < 15 allowed it).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT {ROW_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        # Tables and sequences that later revisions create are covered too.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {ROW_PRIVILEGES} ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        # The schema's version is the migrator's to write; the API may only read it.
        f"REVOKE INSERT, UPDATE, DELETE ON TABLE alembic_version FROM {quoted}",
    ):
        connection.exec_driver_sql(statement)
    connection.commit()
    log.info("%s API role %s: row privileges on every table in schema public", verb, role)
