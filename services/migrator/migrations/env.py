"""Alembic's environment: the shared models' metadata, and the migrator's runner
(migrator.runner), which adds the waits, locks, timeouts and grants."""

from logging.config import fileConfig

from alembic import context

from migrator import runner
from shared_models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    runner.run_offline(target_metadata)


def run_migrations_online() -> None:
    # A caller's Engine or Connection (tests, pytest-alembic, programmatic use), or none.
    connectable = config.attributes.get("connection")
    if connectable is None:
        runner.run_online(target_metadata)
    else:
        runner.run_on_callers(target_metadata, connectable)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
