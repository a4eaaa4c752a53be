"""Alembic's environment: the shared models' metadata, and the migrator's runner
(migrator.runner), which adds the waits, locks, timeouts and grants."""

from alembic import context

from migrator import runner
from shared_models import Base
from shared_models.logs import configured_or_default

config = context.config
# JSON lines like every service's (LOG_FORMAT); a caller may keep its own logging.
if config.attributes.get("configure_logger", True):
    configured_or_default("migrator")

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
