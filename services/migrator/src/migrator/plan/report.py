"""The plan as data (what ``--json`` prints) and as text for a person."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field

from migrator.plan.observe import Revision, Statement
from migrator.plan.sizes import TableSize
from migrator.plan.verdicts import Verdict, judge, worst


@dataclass(frozen=True)
class PlannedStatement:
    sql: str
    in_transaction: bool  # False: its locks are said from what it is, not read
    locks: dict[str, str]  # table: the strongest mode its transaction holds on it
    rewrites: list[str]
    scans: list[str]
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class PlannedRevision:
    revision: str
    message: str
    verdict: Verdict
    statements: list[PlannedStatement]  # a backfill's is "backfill <its name>"


@dataclass(frozen=True)
class Plan:
    database: str
    current: list[str]
    heads: list[str]
    tables: dict[str, TableSize]  # the live sizes of the tables the revisions touch
    verdict: Verdict
    revisions: list[PlannedRevision] = field(default_factory=list)

    def json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def planned_statement(statement: Statement, sizes: dict[str, TableSize]) -> PlannedStatement:
    judgement = judge(statement, sizes)
    return PlannedStatement(
        sql=" ".join(statement.sql.split()),
        in_transaction=statement.in_transaction,
        locks={table: mode.label for table, mode in sorted(statement.locks.items())},
        rewrites=sorted(statement.rewrites),
        scans=sorted(statement.scans),
        verdict=judgement.verdict,
        reason=judgement.reason,
    )


def planned_revision(revision: Revision, sizes: dict[str, TableSize]) -> PlannedRevision:
    statements = [planned_statement(statement, sizes) for statement in revision.statements]
    return PlannedRevision(
        revision=revision.revision,
        message=revision.message,
        verdict=worst([statement.verdict for statement in statements]),
        statements=statements,
    )


def text(plan: Plan) -> str:
    at = ", ".join(plan.current) or "an empty schema"
    if not plan.revisions:
        return f"{plan.database} is at {at}, the head: nothing to apply.\n"
    lines = [
        f"{plan.database} is at {at}; head is {', '.join(plan.heads)}: "
        f"{len(plan.revisions)} revision(s) to apply. Verdict: {plan.verdict}.",
        "Sizes are the live tables' (catalog estimates, read without a lock): "
        + (
            ", ".join(
                f"{name} {size.rows:,} rows {size.bytes / 2**20:,.1f} MiB"
                for name, size in plan.tables.items()
            )
            or "no existing table is touched"
        )
        + ".",
    ]
    for revision in plan.revisions:
        lines += ["", f"{revision.revision}  {revision.message}  [{revision.verdict}]"]
        for statement in revision.statements:
            lines.append(f"  {statement.verdict.upper():<24} {shorten(statement.sql)}")
            lines += textwrap.wrap(
                statement.reason, 100, initial_indent=" " * 27, subsequent_indent=" " * 27
            )
    return "\n".join(lines) + "\n"


def shorten(sql: str, width: int = 100) -> str:
    return textwrap.shorten(sql, width, placeholder=" ...")
