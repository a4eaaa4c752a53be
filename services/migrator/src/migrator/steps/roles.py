"""The roles step (compose service ``roles``), as the database's superuser, idempotent:
the schema owner, the API and exporter roles as narrow login roles with their passwords
(sent as SCRAM verifiers computed here, never in plain text), the database and its
scratch copy for ``make plan``, each reachable by those roles only, whatever in schema
public someone else owns handed to the owner, and in the maintenance database what
monitoring reads (migrator.monitoring). Why a superuser step: docs/security.md.
"""

from __future__ import annotations

import base64
import logging
import re
import sys

from psycopg import sql
from scramp import ScramMechanism  # type: ignore[import-untyped]
from sqlalchemy import Connection, text

from migrator.database import connect_with_retry, create_migration_engine
from migrator.errors import MigratorError
from migrator.monitoring import EXPORTER_ROLE, set_up_monitoring
from migrator.settings import ROLES_SETTINGS, DatabaseWaitSettings, RolesSettings, plan_database
from shared_models.startup import start

log = logging.getLogger("migrator.roles")

SCRAM = ScramMechanism("SCRAM-SHA-256")
SCRAM_ITERATIONS = 4096  # PostgreSQL's default scram_iterations
VERIFIER = re.compile(r"^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$")

# Who may connect to the application's database, and how.
LOGIN_ROLE = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """What PostgreSQL stores for a password (rolpassword), computed client-side."""
    salt, stored_key, server_key, iterations = SCRAM.make_auth_info(
        password, iteration_count=SCRAM_ITERATIONS, salt=salt
    )
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def verifier_matches(stored: str | None, password: str) -> bool:
    match = VERIFIER.match(stored or "")
    if match is None or int(match[1]) != SCRAM_ITERATIONS:
        return False
    return scram_verifier(password, base64.b64decode(match[2])) == stored


def run(statement: sql.Composable, connection: Connection) -> None:
    connection.exec_driver_sql(statement.as_string())


def ensure_login_role(connection: Connection, role: str, password: str) -> None:
    stored = connection.execute(
        text("SELECT rolpassword FROM pg_authid WHERE rolname = :role"), {"role": role}
    ).first()
    name = sql.Identifier(role)
    verifier = sql.Literal(scram_verifier(password))
    if stored is None:
        run(
            sql.SQL(f"CREATE ROLE {{}} {LOGIN_ROLE} PASSWORD {{}}").format(name, verifier),
            connection,
        )
        log.info("created role %s", role)
    elif not verifier_matches(stored.rolpassword, password):
        run(
            sql.SQL(f"ALTER ROLE {{}} {LOGIN_ROLE} PASSWORD {{}}").format(name, verifier),
            connection,
        )
        log.info("set the password of role %s", role)
    else:
        # Attributes are reasserted anyway: a role someone widened by hand is narrowed again.
        run(sql.SQL(f"ALTER ROLE {{}} {LOGIN_ROLE}").format(name), connection)


def ensure_database(connection: Connection, database: str, owner: str) -> None:
    current = connection.scalar(
        text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :db"),
        {"db": database},
    )
    name, owner_name = sql.Identifier(database), sql.Identifier(owner)
    if current is None:
        run(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, owner_name), connection)
        log.info("created database %s owned by %s", database, owner)
    elif current != owner:
        run(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(name, owner_name), connection)
        log.info("database %s: owner %s -> %s", database, current, owner)


def allow_connections(connection: Connection, database: str, roles: list[str]) -> None:
    name = sql.Identifier(database)
    run(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(name), connection)
    for role in roles:
        run(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(name, sql.Identifier(role)),
            connection,
        )


# Objects in schema public not owned by the owner; tables carry their indexes and
# identity sequences with them, so only free-standing sequences are listed apart.
FOREIGN_OWNED = text(r"""
SELECT format('ALTER %s %s OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                             ELSE 'TABLE' END,
              c.oid::regclass, CAST(:owner AS text))
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND c.relowner <> to_regrole(:owner)
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, CAST(:owner AS text))
FROM pg_type t
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r', 'm')
  AND t.typowner <> to_regrole(:owner)
UNION ALL
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, CAST(:owner AS text))
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> to_regrole(:owner)
""")


def adopt_schema(connection: Connection, owner: str) -> None:
    """Hand every object in schema public to the owner (a database from before it existed)."""
    statements = connection.scalars(FOREIGN_OWNED, {"owner": owner}).all()
    for statement in statements:
        connection.exec_driver_sql(statement)
    if statements:
        log.info("handed %d objects in schema public over to %s", len(statements), owner)


def set_up(settings: RolesSettings, wait_seconds: float) -> None:
    assert settings.owner_db_password is not None, "checked by RolesSettings"
    assert settings.api_db_password is not None, "checked by RolesSettings"
    owner, api, database = settings.owner_db_user, settings.api_db_user, settings.database_name
    maintenance = create_migration_engine(
        settings.url("psycopg", "postgres"), settings.postgres_connect_timeout, "roles"
    )
    try:
        with connect_with_retry(maintenance, wait_seconds) as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if not connection.scalar(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ):
                raise MigratorError("the roles step must connect as a superuser (POSTGRES_USER)")
            ensure_login_role(connection, owner, settings.owner_db_password.get_secret_value())
            # Read-only: so a lock timeout can name the session that holds the lock.
            run(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(owner)), connection)
            ensure_login_role(connection, api, settings.api_db_password.get_secret_value())
            if settings.exporter_db_password is not None:
                password = settings.exporter_db_password.get_secret_value()
                ensure_login_role(connection, EXPORTER_ROLE, password)
            set_up_monitoring(connection, owner, settings.exporter_db_password is not None)
            ensure_database(connection, database, owner)
            allow_connections(connection, database, [owner, api])
            # `make plan`'s scratch copy: the owner's alone (migrator.plan).
            ensure_database(connection, plan_database(database), owner)
            allow_connections(connection, plan_database(database), [owner])
    finally:
        maintenance.dispose()
    application = create_migration_engine(
        settings.url("psycopg", database), settings.postgres_connect_timeout, "roles"
    )
    try:
        with application.connect() as connection:
            adopt_schema(connection, owner)
            connection.commit()
    finally:
        application.dispose()
    log.info("roles ready: owner %s, api %s, database %s", owner, api, database)


OLD_DATABASE_HINT = (
    "; a database created before passwords moved into the secrets volume keeps its old "
    "superuser password: run `make up` once (it moves POSTGRES_PASSWORD and "
    "API_DB_PASSWORD from .env into the volume)"
)


def main() -> int:
    settings = start("roles", ROLES_SETTINGS)
    try:
        set_up(settings[RolesSettings], settings[DatabaseWaitSettings].migrator_db_wait_seconds)
    except MigratorError as exc:
        hint = OLD_DATABASE_HINT if "password authentication failed" in str(exc) else ""
        log.error("%s%s", exc, hint, extra={"outcome": "failed"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
