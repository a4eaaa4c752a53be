"""How alembic reaches the database: shared metadata, settings from the environment,
and the safety rails every run of the migrator gets.

For ``upgrade``, ``downgrade`` and ``stamp``, the migrator:
1. waits for the database (bounded retries),
2. takes the migration advisory lock, so concurrent migrators run one at a time,
3. sets lock_timeout and statement_timeout, and retries lock timeouts with backoff,
4. applies each revision in its own transaction,
5. after ``upgrade``, ensures the API's row-only role and its grants.

A caller may hand in its own connection (``config.attributes["connection"]``): then
alembic runs on it as is, with none of the above (tests, programmatic use).
"""

from __future__ import annotations

import logging
import sys
from logging.config import fileConfig
from typing import NoReturn

from alembic import context
from sqlalchemy import Connection

from migrator.advisory_lock import MigrationLockTimeoutError, migration_lock
from migrator.api_role import ApiRoleError, ensure_api_role
from migrator.database import (
    DatabaseUnavailableError,
    connect_with_retry,
    create_migration_engine,
)
from migrator.lock_timeouts import (
    LockTimeoutExhaustedError,
    apply_timeouts,
    timeout_statements,
    with_lock_retries,
)
from migrator.settings import MigratorSettings
from shared_models import Base, DatabaseSettings
from shared_models.settings import ConfigurationError

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("migrator")

target_metadata = Base.metadata

# Commands that write the schema or its version; only these take the migration lock.
WRITING_COMMANDS = {"upgrade", "downgrade", "stamp"}


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


def invoked_command() -> str | None:
    """The alembic subcommand from the command line; None when called programmatically."""
    command = getattr(config.cmd_opts, "cmd", None)
    return command[0].__name__ if command else None


def fail(message: str) -> NoReturn:
    print(f"migrator: {message}", file=sys.stderr)
    raise SystemExit(1)


def load_settings() -> MigratorSettings:
    try:
        return MigratorSettings.load()
    except ConfigurationError as exc:
        fail(str(exc))


def run_offline() -> None:
    """``--sql``: print the script for review, with the timeouts it would run under."""
    configure_context(dialect_name="postgresql", literal_binds=True)
    for statement in timeout_statements(load_settings()):
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    settings = load_settings()
    try:
        database = DatabaseSettings.load()
    except ConfigurationError as exc:
        fail(str(exc))
    command = invoked_command()
    engine = create_migration_engine(database)
    try:
        lock_connection = connect_with_retry(engine, settings.migrator_db_wait_seconds)
        if command is not None and command not in WRITING_COMMANDS:
            with lock_connection:  # read-only (current, check, ...): no lock, no timeouts
                run_on(lock_connection)
            return
        with (
            lock_connection,
            migration_lock(lock_connection, settings.migrator_lock_wait_seconds),
            engine.connect() as connection,
        ):
            apply_timeouts(connection, settings)
            with_lock_retries(lambda: run_on(connection), connection, settings)
            connection.commit()
            if command == "upgrade" and settings.api_db_password is not None:
                ensure_api_role(
                    connection, settings.api_db_user, settings.api_db_password.get_secret_value()
                )
    except (
        DatabaseUnavailableError,
        MigrationLockTimeoutError,
        LockTimeoutExhaustedError,
        ApiRoleError,
    ) as exc:
        fail(str(exc))
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
