"""How alembic reaches the database: shared metadata, settings from the environment.

A caller may hand in its own connection (``config.attributes["connection"]``), as
the tests do; otherwise the migrator connects itself, waiting for the server.
"""

from __future__ import annotations

import logging
import sys
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from migrator.database import (
    DatabaseUnavailableError,
    connect_with_retry,
    create_migration_engine,
)
from migrator.settings import MigratorSettings
from shared_models import Base, DatabaseSettings
from shared_models.settings import ConfigurationError

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("migrator")

target_metadata = Base.metadata


def configure_context(**options: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        # One transaction per revision: a failing revision rolls back alone and
        # alembic_version keeps naming the last one that really applied.
        transaction_per_migration=True,
        **options,  # type: ignore[arg-type]
    )


def run_on(connection: Connection) -> None:
    configure_context(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def fail(message: str) -> None:
    print(f"migrator: {message}", file=sys.stderr)
    raise SystemExit(1)


def run_offline() -> None:
    """``--sql``: print the script for review instead of running it."""
    try:
        url = DatabaseSettings.load().url("psycopg")
    except ConfigurationError as exc:
        fail(str(exc))
    configure_context(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    try:
        database = DatabaseSettings.load()
        settings = MigratorSettings.load()
    except ConfigurationError as exc:
        fail(str(exc))
    engine = create_migration_engine(database)
    try:
        connection = connect_with_retry(engine, settings.migrator_db_wait_seconds)
    except DatabaseUnavailableError as exc:
        fail(str(exc))
    with connection:
        run_on(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
