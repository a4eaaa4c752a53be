"""The live tables' sizes, from the catalog alone: the plan takes no lock on them
(pg_relation_size() and count(*) take ACCESS SHARE, which queues behind a migration's
ACCESS EXCLUSIVE). Rows are the planner's estimate (reltuples, as of the last ANALYZE),
or the statistics' live count for a table never analysed; bytes are the pages of the
table, its TOAST and its indexes as of the last VACUUM or ANALYZE.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

SIZES = text("""
SELECT c.relname AS name,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE coalesce(s.n_live_tup, 0) END::bigint
         AS rows,
       (c.relpages + coalesce(toast.relpages, 0)
        + coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE x.indrelid = c.oid), 0))::bigint
       * current_setting('block_size')::bigint AS bytes
FROM pg_class c
LEFT JOIN pg_class toast ON toast.oid = c.reltoastrelid
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relkind IN ('r', 'p', 'm')
""")


@dataclass(frozen=True)
class TableSize:
    rows: int
    bytes: int


def live_sizes(connection: Connection) -> dict[str, TableSize]:
    """Every table of the target's schema by name (a table the pending revisions create is
    absent: it holds nothing yet)."""
    return {row.name: TableSize(row.rows, row.bytes) for row in connection.execute(SIZES)}
