"""One migrator run: what env.py, the runner, revisions' backfills and the plan share,
typed, on alembic's Config (``MigratorConfig.run``; a revision reaches it through
``op.get_context().config``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from alembic.config import Config
from sqlalchemy import Connection, Engine

from migrator.settings import BackfillSettings
from shared_models.startup import Settings

if TYPE_CHECKING:
    from migrator.backfill import Backfill

# alembic's on_version_apply: called after each revision, inside its transaction.
OnRevision = Callable[..., None]
# Where a planned backfill goes: reported in its place among the statements, not run.
PlanBackfill = Callable[["Backfill", BackfillSettings], None]


class Mode(StrEnum):
    RUN = "run"  # the revisions change the database
    PLAN = "plan"  # the plan's scratch copy: backfills are reported, not run


@dataclass
class MigratorRun:
    # A caller's Engine or Connection; None: the migrator's own, with its safety rails.
    connection: Connection | Engine | None = None
    # False: the caller's process keeps the logging it has.
    configure_logging: bool = True
    # Called after each revision on a caller's connection (the plan watches them).
    on_revision: OnRevision | None = None
    # Set in plan mode only.
    plan_backfill: PlanBackfill | None = None
    # The program's settings, loaded once at its start; None: env.py loads the command's.
    settings: Settings | None = None

    @property
    def mode(self) -> Mode:
        return Mode.RUN if self.plan_backfill is None else Mode.PLAN

    def backfill_settings(self) -> BackfillSettings:
        """The program's, or the defaults on a caller's connection (its settings are its own)."""
        if self.settings is not None and BackfillSettings in self.settings.loaded:
            return self.settings[BackfillSettings]
        return BackfillSettings()


class MigratorConfig(Config):
    """alembic's Config, carrying the run its commands are part of."""

    def __init__(
        self, file_: str | None = None, *, run: MigratorRun | None = None, **options: Any
    ) -> None:
        super().__init__(file_, **options)
        self.run = run if run is not None else MigratorRun()

    @classmethod
    def of(cls, config: Config, run: MigratorRun | None = None) -> MigratorConfig:
        """``config``'s files, section and command-line options, for ``run``."""
        return cls(
            config.config_file_name,
            toml_file=config.toml_file_name,
            ini_section=config.config_ini_section,
            output_buffer=config.output_buffer,
            stdout=config.stdout,
            cmd_opts=config.cmd_opts,
            config_args=config.config_args,
            run=run,
        )


# alembic's own command line makes a plain Config: its run is made once, so the settings
# env.py loads reach the revisions' backfills as they do through a MigratorConfig.
_plain_configs_runs: WeakKeyDictionary[Config, MigratorRun] = WeakKeyDictionary()


def run_of(config: Config | None) -> MigratorRun:
    """The run ``config`` is part of. A plain Config with a connection in
    ``attributes["connection"]`` (alembic's cookbook, pytest-alembic) is a caller's run,
    on that connection, with the caller's logging and settings."""
    if isinstance(config, MigratorConfig):
        return config.run
    if config is None:
        return MigratorRun()
    connection = config.attributes.get("connection")
    if connection is not None:
        return MigratorRun(connection=connection, configure_logging=False)
    return _plain_configs_runs.setdefault(config, MigratorRun())
