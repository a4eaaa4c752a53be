"""``migrator plan [--json]``: the plan of every pending revision, printed. Reads the
database as the schema owner, and empties and migrates its scratch copy
``<POSTGRES_DB>_plan`` (the roles step makes it); exits 1 when no plan can be made."""

from __future__ import annotations

import logging
import re

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from migrator.database import connect_with_retry, create_migration_engine, first_line
from migrator.errors import MigratorError
from migrator.plan.data import Finding, count
from migrator.plan.observe import Revision, Statement, run_pending
from migrator.plan.report import Plan, planned_revision, text
from migrator.plan.sizes import live_sizes
from migrator.plan.verdicts import Verdict, worst
from migrator.settings import (
    PLAN_SETTINGS,
    DatabaseWaitSettings,
    MigratorDatabaseSettings,
    PlanSettings,
    plan_database,
)
from shared_models.startup import Settings, start

log = logging.getLogger("migrator.plan")

WRITES_ROWS = re.compile(
    r"^\s*(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+(ONLY\s+)?(?P<table>[\w.\"]+)", re.I
)


def make_plan(config: Config, target: Connection, scratch: Connection, settings: Settings) -> Plan:
    """The plan of the revisions between ``target``'s and head, found on ``scratch``;
    ``settings`` are the plan's (how its backfills would run)."""
    current = MigrationContext.configure(target).get_current_heads()
    sizes = live_sizes(target)
    target.rollback()  # the catalog read's snapshot, and nothing else, was held
    heads = list(ScriptDirectory.from_config(config).get_heads())
    revisions = run_pending(config, scratch, current, settings)
    check_data(target, revisions, settings[PlanSettings].migrator_plan_check_seconds)
    planned = [planned_revision(revision, sizes) for revision in revisions]
    touched = {
        table
        for revision in revisions
        for statement in revision.statements
        for table in statement.locks.keys() | statement.scans | statement.rewrites
    }
    return Plan(
        database=target.engine.url.database or "",
        current=list(current),
        heads=heads,
        tables={name: sizes[name] for name in sorted(touched) if name in sizes},
        verdict=worst([revision.verdict for revision in planned]),
        revisions=planned,
    )


def check_data(target: Connection, revisions: list[Revision], seconds: float) -> None:
    """Each statement's new rules counted against the target's rows, unless a step before
    it in this plan changes that table's rows (a backfill, an UPDATE): then only the real
    run can tell."""
    changed: set[str] = set()
    for revision in revisions:
        for statement in revision.statements:
            for rule in sorted(statement.new_rules, key=str):
                if rule.table in changed:
                    note = "a step before it in this plan changes those rows"
                    statement.findings.append(Finding(rule, None, note))
                else:
                    statement.findings.append(count(target, rule, seconds))
            changed |= tables_written(statement)


def tables_written(statement: Statement) -> set[str]:
    if statement.backfill is not None:
        return {statement.backfill[0].table}
    match = WRITES_ROWS.match(statement.sql)
    return {match["table"].strip('"').split(".")[-1]} if match else set()


def engines(database: MigratorDatabaseSettings, wait: float) -> tuple[Engine, Engine]:
    """The target (waited for, as every step does) and its scratch database."""
    url = database.url("psycopg")
    target = create_migration_engine(url, database.postgres_connect_timeout, "migrator-plan")
    connect_with_retry(target, wait).close()
    scratch_name = plan_database(database.database_name)
    scratch = create_migration_engine(
        url.set(database=scratch_name), database.postgres_connect_timeout, "migrator-plan"
    )
    try:
        scratch.connect().close()
    except OperationalError as exc:
        raise MigratorError(
            f"the scratch database {scratch_name}: {first_line(exc)}; the roles step makes "
            "it (`make up`, or `docker compose run --rm roles`)"
        ) from None
    return target, scratch


# The exit status when the plan says stop: a revision would fail (or, with --strict,
# would block reads or writes or rewrite a table).
STOP = 3


def plan(config: Config, json: bool = False, strict: bool = False) -> None:
    """Show what each pending revision will lock, on how many rows, with a verdict."""
    settings = start("plan", PLAN_SETTINGS)  # first, as every program of the stack
    wait = settings[DatabaseWaitSettings].migrator_db_wait_seconds
    try:
        target, scratch = engines(settings[MigratorDatabaseSettings], wait)
    except MigratorError as exc:
        log.error("%s", exc, extra={"outcome": "failed"})
        raise SystemExit(1) from None
    try:
        with target.connect() as on_target, scratch.connect() as on_scratch:
            made = make_plan(config, on_target, on_scratch, settings)
    except Exception:
        # A revision that fails on the scratch copy would fail on the database too: the
        # plan found it first. One log line with the traceback, as the migrator writes.
        log.exception(
            "the pending revisions fail on a copy of the schema", extra={"outcome": "failed"}
        )
        raise SystemExit(1) from None
    finally:
        target.dispose()
        scratch.dispose()
    config.print_stdout(made.json() if json else text(made).removesuffix("\n"))
    if made.verdict is Verdict.FAILS or (strict and made.verdict is not Verdict.SAFE):
        log.error(
            "the plan says %s: not migrating as it is", made.verdict, extra={"outcome": "stop"}
        )
        raise SystemExit(STOP)
