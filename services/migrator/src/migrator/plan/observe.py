"""Run the pending revisions on the scratch database and watch each statement: the table
locks its transaction holds (pg_locks, read inside it), and PostgreSQL's DEBUG1 messages
saying it rewrites a table, scans one, builds an index, validates a foreign key, or
proves NOT NULL without a scan. A statement that cannot run in a transaction
(CONCURRENTLY, VACUUM) is said from what it is; a backfill is reported, not run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationInfo
from psycopg import Connection as PsycopgConnection
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, event

from migrator.backfill import PROGRESS, Backfill
from migrator.plan.data import Finding, Rule, rules_now
from migrator.plan.locks import LockMode
from migrator.run import MigratorConfig, MigratorRun
from migrator.settings import BackfillSettings
from shared_models.startup import Settings

# Every table lock this session holds. Locks on indexes are left out: a new index's is
# nobody's concern, and a statement that changes an existing one locks its table too.
HELD_LOCKS = """
SELECT c.relname, l.mode
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND c.relkind IN ('r', 'p', 'm')
  AND c.relnamespace = to_regnamespace(current_schema())
"""
INDEX_TABLE = "SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = to_regclass(%s)"
FOREIGN_KEY_TABLE = "SELECT conrelid::regclass::text FROM pg_constraint WHERE conname = %s"

NOT_IN_A_TRANSACTION = re.compile(
    r"\bCONCURRENTLY\b|^\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM)\b", re.I
)
# What the statements that cannot run in a transaction hold, from PostgreSQL's docs.
CONCURRENT_INDEX = re.compile(
    r"^\s*(?P<verb>CREATE|DROP|REINDEX)\b.*?\bCONCURRENTLY\s+(IF\s+(NOT\s+)?EXISTS\s+)?"
    r"(?P<name>[\w.\"]+)?(\s+ON\s+(ONLY\s+)?(?P<table>[\w.\"]+))?",
    re.I | re.S,
)
NOT_REPORTED = re.compile(r"^\s*(SELECT|SET|SHOW|RESET|BEGIN|COMMIT|ROLLBACK)\b", re.I)
BOOKKEEPING = re.compile(rf"\b(alembic_version|{PROGRESS})\b", re.I)
QUOTED = r'"([^"]+)"'
REWRITING = re.compile(rf"^rewriting table {QUOTED}")
VERIFYING = re.compile(rf"^verifying table {QUOTED}")
BUILDING_INDEX = re.compile(rf"^building index {QUOTED} on table {QUOTED}")
VALIDATING_FOREIGN_KEY = re.compile(rf"^validating foreign key constraint {QUOTED}")
PROVED_NOT_NULL = re.compile(rf"^existing constraints on column {QUOTED} are sufficient")


@dataclass
class Statement:
    sql: str
    in_transaction: bool = True
    locks: dict[str, LockMode] = field(default_factory=dict)  # table: strongest mode held
    rewrites: set[str] = field(default_factory=set)
    scans: set[str] = field(default_factory=set)
    proved_without_scan: list[str] = field(default_factory=list)  # "users.username_key"
    backfill: tuple[Backfill, BackfillSettings] | None = None  # reported, not run
    new_rules: frozenset[Rule] = frozenset()  # NOT NULL, CHECK, foreign key, unique added
    findings: list[Finding] = field(default_factory=list)  # those rules on today's rows


@dataclass
class Revision:
    revision: str
    message: str
    statements: list[Statement] = field(default_factory=list)


class StatementWatcher:
    """Hooks on the scratch connection: statements, locks, messages, revision boundaries."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.raw: PsycopgConnection[Any] = connection.connection.dbapi_connection  # type: ignore[assignment]
        self.revisions: list[Revision] = []
        self.pending = Revision("", "")
        self.current: Statement | None = None
        self.wrapped = False  # this statement got a transaction of its own from us
        self.rules: frozenset[Rule] = frozenset()  # the schema's, as of the last statement

    def __enter__(self) -> StatementWatcher:
        event.listen(self.connection, "before_cursor_execute", self.before)
        event.listen(self.connection, "after_cursor_execute", self.after)
        self.raw.add_notice_handler(self.notice)
        self.rules = rules_now(self.query)
        self.raw.commit()  # the catalog read's transaction, and nothing else
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.connection, "before_cursor_execute", self.before)
        event.remove(self.connection, "after_cursor_execute", self.after)
        if self.wrapped:  # the statement failed inside the transaction we gave it
            self.wrapped = False
            self.raw.execute("ROLLBACK")
        self.raw.remove_notice_handler(self.notice)

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with self.raw.cursor() as cursor:
            cursor.execute(sql, params or None)
            return cursor.fetchall()

    def before(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if NOT_REPORTED.match(statement) or BOOKKEEPING.search(statement):
            self.current = None
            return
        self.current = Statement(statement.strip())
        idle = self.raw.info.transaction_status == TransactionStatus.IDLE
        if not (self.raw.autocommit and idle):
            return
        if NOT_IN_A_TRANSACTION.search(statement):
            self.current.in_transaction = False
            self.said_from_what_it_is(self.current)
        else:
            self.raw.execute("BEGIN")
            self.wrapped = True

    def said_from_what_it_is(self, statement: Statement) -> None:
        match = CONCURRENT_INDEX.match(statement.sql)
        if match is None:
            return
        table = match["table"]
        if table is None and match["name"]:  # DROP INDEX CONCURRENTLY name: its table
            found = self.query(INDEX_TABLE, match["name"])
            table = found[0][0] if found else None
        if table:
            table = table.strip('"').split(".")[-1]
            statement.locks[table] = LockMode.SHARE_UPDATE_EXCLUSIVE
            if match["verb"].upper() != "DROP":
                statement.scans.add(table)

    def after(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if self.current is None:
            return
        observed, self.current = self.current, None
        if observed.in_transaction:
            for table, mode in self.query(HELD_LOCKS):
                if BOOKKEEPING.search(table):
                    continue
                held = LockMode.from_pg_locks(mode)
                observed.locks[table] = max(held, observed.locks.get(table, held))
        now = rules_now(self.query)
        observed.new_rules, self.rules = now - self.rules, now
        if self.wrapped:
            self.raw.execute("COMMIT")
            self.wrapped = False
        self.pending.statements.append(observed)

    def notice(self, diagnostic: pg_errors.Diagnostic) -> None:
        message = diagnostic.message_primary or ""
        statement = self.current
        if statement is None:
            return
        if match := REWRITING.match(message):
            statement.rewrites.add(match[1])
        elif match := VERIFYING.match(message):
            statement.scans.add(match[1])
        elif (match := BUILDING_INDEX.match(message)) and not match[2].startswith("pg_toast"):
            statement.scans.add(match[2])
        elif match := VALIDATING_FOREIGN_KEY.match(message):
            # The referencing table is read whole; the notice comes mid-statement, so the
            # catalog is read on the connection's behalf later (notices cannot query).
            statement.scans.add(f"constraint:{match[1]}")
        elif match := PROVED_NOT_NULL.match(message):
            statement.proved_without_scan.append(match[1])

    def backfill_planned(self, backfill: Backfill, settings: BackfillSettings) -> None:
        """A revision's backfill (MigratorRun.plan_backfill): a step of the revision, in its
        place among the statements."""
        self.pending.statements.append(
            Statement(
                f"backfill {backfill.name}",
                locks={backfill.table: LockMode.ROW_EXCLUSIVE},
                backfill=(backfill, settings),
            )
        )

    def revision_done(self, *, step: MigrationInfo, **_: object) -> None:
        """alembic's on_version_apply: what ran since the last one was this revision."""
        self.pending.revision = step.up_revision_id or ""
        self.pending.message = getattr(step.up_revision, "doc", "") or ""
        for statement in self.pending.statements:
            self.name_foreign_key_tables(statement)
        self.revisions.append(self.pending)
        self.pending = Revision("", "")

    def name_foreign_key_tables(self, statement: Statement) -> None:
        for entry in [scan for scan in statement.scans if scan.startswith("constraint:")]:
            statement.scans.discard(entry)
            found = self.query(FOREIGN_KEY_TABLE, entry.removeprefix("constraint:"))
            statement.scans.update(row[0].split(".")[-1] for row in found)


def empty(connection: Connection) -> None:
    """The scratch database back to nothing: its schema dropped and made again."""
    connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
    connection.exec_driver_sql("CREATE SCHEMA public")
    connection.commit()


@contextmanager
def quiet(*loggers: str) -> Iterator[None]:
    """Warnings and errors only from ``loggers`` meanwhile: alembic's "Running upgrade"
    lines (and a backfill's progress) about the scratch database would read as if the
    real one were migrated."""
    levels = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def run_pending(
    config: Config, scratch: Connection, current: tuple[str, ...], settings: Settings
) -> list[Revision]:
    """Scratch migrated to ``current`` (the target's revisions), then to head, watched.
    ``settings`` are the plan's, loaded at its start: the runs here load none."""
    with quiet("alembic", "migrator.backfill"):
        return migrate_watched(config, scratch, current, settings)


def not_logged(**_: object) -> None:
    """on_version_apply for the revisions the target has: no "applied revision" line."""


def migrate_watched(
    config: Config, scratch: Connection, current: tuple[str, ...], settings: Settings
) -> list[Revision]:
    empty(scratch)
    on_scratch = MigratorRun(
        connection=scratch, configure_logging=False, settings=settings, on_revision=not_logged
    )
    for revision in current:
        command.upgrade(MigratorConfig.of(config, on_scratch), revision)
    scratch.exec_driver_sql("SET client_min_messages = debug1")
    scratch.commit()
    with StatementWatcher(scratch) as watcher:
        watched = MigratorRun(
            connection=scratch,
            configure_logging=False,
            settings=settings,
            on_revision=watcher.revision_done,
            plan_backfill=watcher.backfill_planned,
        )
        command.upgrade(MigratorConfig.of(config, watched), "heads")
    scratch.exec_driver_sql("RESET client_min_messages")
    scratch.commit()
    return watcher.revisions
