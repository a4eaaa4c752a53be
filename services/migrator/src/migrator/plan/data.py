"""What the data would refuse: each rule a statement adds (NOT NULL, a validated CHECK or
foreign key, a unique index), found by comparing the scratch copy's catalog before and
after it, is counted against the target's rows: read-only, under a short lock_timeout
(never waiting behind a migration), each count capped and under a statement_timeout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import errors as pg_errors
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

# At most this many violations are counted: enough to say how big the problem is.
CAP = 1_000_000
LOCK_WAIT = "200ms"


@dataclass(frozen=True)
class Rule:
    kind: str  # "not null", "check", "foreign key", "unique"
    table: str
    name: str  # the column, the constraint or the index
    detail: str = ""  # a check's expression; a unique index's keys; a foreign key's join
    has_default: bool = False  # not null: a value for the rows already there

    def __str__(self) -> str:
        if self.kind == "not null":
            return f"{self.table}.{self.name} NOT NULL"
        return f"{self.kind} {self.name} on {self.table}"


RULES = """
SELECT 'not null', c.relname, a.attname, '', a.atthasdef
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
UNION ALL
SELECT 'check', c.relname, k.conname, pg_get_expr(k.conbin, k.conrelid), false
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relnamespace = to_regnamespace(current_schema()) AND k.contype = 'c' AND k.convalidated
UNION ALL
SELECT 'foreign key', c.relname, k.conname,
       (SELECT string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' AND ')
          || ' FROM ' || format('%I', p.relname)
          || ' | ' || string_agg(format('c.%I IS NOT NULL', ca.attname), ' AND ')
        FROM unnest(k.conkey, k.confkey) AS pair (child, parent)
        JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = pair.child
        JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = pair.parent),
       false
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
WHERE c.relnamespace = to_regnamespace(current_schema()) AND k.contype = 'f' AND k.convalidated
UNION ALL
SELECT 'unique', c.relname, i.relname,
       (SELECT string_agg(pg_get_indexdef(x.indexrelid, n, true), ', ')
        FROM generate_series(1, x.indnkeyatts) AS n)
       || coalesce(' | ' || pg_get_expr(x.indpred, x.indrelid, true), ''),
       false
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relnamespace = to_regnamespace(current_schema()) AND x.indisunique AND x.indisvalid
"""

Query = Callable[[str], list[tuple[Any, ...]]]


def rules_now(query: Query) -> frozenset[Rule]:
    """Every rule of the schema as it is now (read on the scratch copy)."""
    return frozenset(Rule(*row) for row in query(RULES))


@dataclass(frozen=True)
class Finding:
    rule: Rule
    violations: int | None  # None: it could not be counted (``note`` says why)
    note: str = ""

    @property
    def fails(self) -> bool:
        return bool(self.violations)

    def __str__(self) -> str:
        if self.violations is None:
            return f"{self.rule}: not checked against today's rows ({self.note})"
        counted = f"{self.violations:,}" + (" or more" if self.violations >= CAP else "")
        return f"{self.rule}: {counted} {self.note}" if self.violations else f"{self.rule}: ok"


def violations_sql(rule: Rule, new_column: bool) -> tuple[str, str]:
    """A query of one row per violation of ``rule``, and what such a row is, in words."""
    table = f'"{rule.table}"'
    if rule.kind == "not null":
        if new_column:
            return f"SELECT 1 FROM {table}", "rows, which would have no value"
        return f'SELECT 1 FROM {table} WHERE "{rule.name}" IS NULL', "rows with no value"
    if rule.kind == "check":
        return f"SELECT 1 FROM {table} WHERE NOT ({rule.detail})", "rows that break it"
    if rule.kind == "foreign key":
        join, present = rule.detail.split(" | ")
        on, parent = join.split(" FROM ")
        return (
            f"SELECT 1 FROM {table} c WHERE {present} "
            f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {on})",
            "rows that refer to no row",
        )
    keys, _, predicate = rule.detail.partition(" | ")
    where = " AND ".join(f"({key}) IS NOT NULL" for key in keys.split(", "))
    if predicate:
        where += f" AND ({predicate})"
    return (
        f"SELECT 1 FROM {table} WHERE {where} GROUP BY {keys} HAVING count(*) > 1",
        "values held by more than one row",
    )


WAY_OUT = {
    "not null": "fill it first (a backfill), then make it NOT NULL through a validated "
    "CHECK, or give the new column a default",
    "check": "fix those rows first, or add it NOT VALID and VALIDATE it once they are",
    "foreign key": "fix or remove those rows first, or add it NOT VALID and VALIDATE it "
    "once they are",
    "unique": "resolve the duplicates first (a revision can list them: "
    "migrator.operations.duplicate_groups)",
}


def count(target: Connection, rule: Rule, seconds: float) -> Finding:
    """How many of the target's rows break ``rule``, in a read-only transaction of its
    own that never waits for a lock and gives up after ``seconds``."""
    for new_column in (False, True):
        if rule.kind != "not null" and new_column:
            break
        if new_column and rule.has_default:
            return Finding(rule, 0, "(the new column's default fills the rows)")
        rows, what = violations_sql(rule, new_column)
        try:
            with target.begin():
                target.exec_driver_sql("SET TRANSACTION READ ONLY")
                target.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                target.exec_driver_sql(f"SET LOCAL statement_timeout = '{round(seconds * 1000)}'")
                found = target.exec_driver_sql(
                    f"SELECT count(*) FROM ({rows} LIMIT {CAP}) AS broken"
                ).scalar_one()
        except DBAPIError as exc:
            error = exc.orig
            if isinstance(error, pg_errors.UndefinedColumn) and rule.kind == "not null":
                continue  # a column this plan adds: every row lacks it
            if isinstance(error, pg_errors.UndefinedTable | pg_errors.UndefinedColumn):
                return Finding(rule, 0, "(it is on what this plan adds: no row has it yet)")
            if isinstance(error, pg_errors.LockNotAvailable):
                return Finding(rule, None, "a table is locked now")
            if isinstance(error, pg_errors.QueryCanceled):
                return Finding(rule, None, f"counting took longer than {seconds:g} s")
            raise
        return Finding(rule, int(found), f"{what}: {WAY_OUT[rule.kind]}" if found else "")
    raise AssertionError("unreachable")  # pragma: no cover
