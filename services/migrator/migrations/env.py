"""Alembic's environment: the shared models' metadata, and the migrator's runner
(migrator.runner), which adds the waits, locks, timeouts and grants."""

from alembic import context

from migrator import runner
from shared_models import Base
from shared_models.startup import load, start

config = context.config
# A caller's Engine or Connection (tests, pytest-alembic, programmatic use), or none.
connectable = config.attributes.get("connection")
offline = context.is_offline_mode()

# First, as every program of the stack: logging (JSON lines, LOG_FORMAT), then every
# setting this command reads validated at once (exit 2). A caller may keep its own logging.
settings = runner.settings_read(offline=offline, callers_connection=connectable is not None)
if config.attributes.get("configure_logger", True):
    start("migrator", settings)
else:
    load("migrator", settings)

target_metadata = Base.metadata

if offline:
    runner.run_offline(target_metadata)
elif connectable is None:
    runner.run_online(target_metadata)
else:
    runner.run_on_callers(target_metadata, connectable, config.attributes.get("on_version_apply"))
