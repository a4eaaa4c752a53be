"""A verdict for each statement: what it keeps others from doing, and for how long. A lock
is harmless when brief; the work done holding it (a rewrite, or a scan that grows with the
table) is what blocks others: "rewrites", "blocks reads and writes" (a scan while holding
ACCESS EXCLUSIVE), "blocks writes" (a scan holding SHARE or stronger), else "safe". A
backfill is safe by construction: short batches under row locks (docs/schema-changes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from migrator.backfill import Backfill
from migrator.plan.observe import Statement
from migrator.plan.sizes import TableSize
from migrator.settings import BackfillSettings


class Verdict(StrEnum):
    SAFE = "safe"
    BLOCKS_WRITES = "blocks writes"
    BLOCKS_READS_AND_WRITES = "blocks reads and writes"
    REWRITES = "rewrites"
    FAILS = "fails"  # today's rows break a rule it adds: the revision would fail

    @property
    def severity(self) -> int:
        return list(Verdict).index(self)


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str


def rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def size(table: str, sizes: dict[str, TableSize]) -> str:
    known = sizes.get(table)
    if known is None:
        return f"{table} (made by this plan: empty)"
    return f"{table} ({rows(known.rows)}, {known.bytes / 2**20:,.1f} MiB)"


def judge(statement: Statement, sizes: dict[str, TableSize]) -> Judgement:
    failing = [finding for finding in statement.findings if finding.fails]
    if failing:
        return Judgement(Verdict.FAILS, "; ".join(str(finding) for finding in failing))
    judgement = judge_locks(statement, sizes)
    unchecked = [str(finding) for finding in statement.findings if finding.violations is None]
    if unchecked:
        return Judgement(judgement.verdict, "; ".join([judgement.reason, *unchecked]))
    return judgement


def judge_locks(statement: Statement, sizes: dict[str, TableSize]) -> Judgement:
    if statement.backfill is not None:
        return Judgement(Verdict.SAFE, backfill_reason(*statement.backfill, sizes))

    def populated(table: str) -> bool:
        return table in sizes and sizes[table].rows > 0

    rewritten = sorted(t for t in statement.rewrites if populated(t))
    scanned = sorted(t for t in statement.scans | statement.rewrites if populated(t))
    blocking_all = sorted(t for t, mode in statement.locks.items() if mode.blocks_reads)
    blocking_writes = sorted(t for t, mode in statement.locks.items() if mode.blocks_writes)
    held = ", ".join(f"{mode.label} on {t}" for t, mode in sorted(statement.locks.items()))
    work = " and ".join(size(t, sizes) for t in scanned)
    touched = sum(sizes[t].rows for t in scanned)
    if rewritten:
        return Judgement(
            Verdict.REWRITES,
            f"rewrites {' and '.join(size(t, sizes) for t in rewritten)} holding {held}",
        )
    if scanned and blocking_all:
        return Judgement(
            Verdict.BLOCKS_READS_AND_WRITES,
            f"reads all {rows(touched)} of {work} holding {held}: "
            f"{', '.join(blocking_all)} can be neither read nor written until it commits",
        )
    if scanned and blocking_writes:
        return Judgement(
            Verdict.BLOCKS_WRITES,
            f"reads all {rows(touched)} of {work} holding {held}: "
            f"no writes to {', '.join(blocking_writes)} until it commits",
        )
    return Judgement(Verdict.SAFE, safe_because(statement, sizes, scanned, held))


def safe_because(
    statement: Statement, sizes: dict[str, TableSize], scanned: list[str], held: str
) -> str:
    proved = (
        "; NOT NULL proved by a validated CHECK, no scan" if statement.proved_without_scan else ""
    )
    if scanned:
        work = " and ".join(size(t, sizes) for t in scanned)
        return f"reads {work} but blocks neither reads nor writes ({held})"
    if not statement.locks:
        return "takes no table lock"
    empty = [t for t in statement.locks if t in sizes and sizes[t].rows == 0]
    brief = f"holds {held} briefly: no rewrite, no scan of a populated table{proved}"
    return brief + (f" ({', '.join(sorted(empty))} empty)" if empty else "")


def backfill_reason(
    backfill: Backfill, settings: BackfillSettings, sizes: dict[str, TableSize]
) -> str:
    table = backfill.table
    total = sizes[table].rows if table in sizes else 0
    rate = settings.migrator_backfill_rows_per_second
    pace = (
        f"at most {rate:,.0f} rows/s, so about {total / rate:,.0f} s at most"
        if rate
        else "as fast as the batches run (MIGRATOR_BACKFILL_ROWS_PER_SECOND=0)"
    )
    which = f" where {backfill.where}" if backfill.where else ""
    return (
        f"changes up to {rows(total)} of {table}{which} in batches of "
        f"{settings.migrator_backfill_batch_size:,}, each a short transaction holding row "
        f"locks only (ROW EXCLUSIVE on {table}); {pace}; resumable"
    )


def worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=lambda verdict: verdict.severity, default=Verdict.SAFE)
