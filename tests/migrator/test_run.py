"""migrator.run: the run a command's Config is part of, as env.py and revisions find it."""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from harness.paths import ALEMBIC_INI
from migrator.run import MigratorConfig, MigratorRun, Mode, run_of
from migrator.settings import BackfillSettings
from shared_models.startup import Settings


def test_a_migrator_config_carries_its_run() -> None:
    run = MigratorRun(configure_logging=False)
    assert run_of(MigratorConfig(str(ALEMBIC_INI), run=run)) is run
    assert run_of(MigratorConfig(str(ALEMBIC_INI))).configure_logging


def test_a_plain_config_is_alembics_command_line_or_a_callers_connection() -> None:
    alembics = Config(str(ALEMBIC_INI))
    # The same run each time: what env.py loads into it reaches the revisions.
    assert run_of(alembics) is run_of(alembics)
    assert (run_of(alembics).connection, run_of(alembics).configure_logging) == (None, True)
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1/none", poolclass=NullPool)
    callers = Config(str(ALEMBIC_INI))
    callers.attributes["connection"] = engine
    run = run_of(callers)
    assert (run.connection, run.configure_logging, run.settings) == (engine, False, None)


def test_plan_mode_is_having_where_backfills_go() -> None:
    assert MigratorRun().mode is Mode.RUN
    assert MigratorRun(plan_backfill=lambda backfill, settings: None).mode is Mode.PLAN


def test_backfills_run_with_the_programs_settings_else_the_defaults() -> None:
    given = BackfillSettings(migrator_backfill_batch_size=7)
    run = MigratorRun(settings=Settings("migrator", {BackfillSettings: given}))
    assert run.backfill_settings() is given
    assert MigratorRun().backfill_settings() == BackfillSettings()


def test_of_keeps_the_files_section_and_options() -> None:
    config = Config(str(ALEMBIC_INI), ini_section="other")
    run = MigratorRun()
    copied = MigratorConfig.of(config, run)
    assert (copied.config_file_name, copied.config_ini_section, copied.run) == (
        str(ALEMBIC_INI),
        "other",
        run,
    )
