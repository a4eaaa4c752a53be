"""Alembic's environment: the models' metadata (for autogenerate), and the run the
command is part of (migrator.run), carried out by migrator.runner."""

from alembic import context

from migrator import runner
from migrator.run import run_of
from shared_models import Base

run = run_of(context.config)
offline = context.is_offline_mode()
# First, as every program of the stack: what this command reads, loaded once (exit 2 on a
# bad value), and logging configured, unless the run's program or caller did both.
settings = runner.start_up(run, offline=offline)

if offline:
    runner.run_offline(Base.metadata, settings)
elif run.connection is None:
    runner.run_online(Base.metadata, settings)
else:
    runner.run_on_callers(Base.metadata, run.connection, run.on_revision)
