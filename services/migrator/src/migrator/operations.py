"""Operations for revisions that must not block the API while they run.

``CREATE INDEX CONCURRENTLY`` cannot run inside a transaction, and when it fails
(a lock timeout, a cancelled deploy) it leaves an INVALID index behind that is
still maintained on every write. These helpers run it in alembic's autocommit
block, drop such a leftover first, and are safe to run again.
"""

from collections.abc import Sequence
from typing import Any

from alembic import op
from sqlalchemy import ColumnElement, TextClause, text


def create_index_concurrently(
    name: str, table: str, columns: Sequence[str | ColumnElement[Any] | TextClause], **kw: Any
) -> None:
    with op.get_context().autocommit_block():
        drop_invalid_leftover(name)
        op.create_index(
            name, table, columns, postgresql_concurrently=True, if_not_exists=True, **kw
        )


def add_unique_constraint_concurrently(name: str, table: str, column: str) -> None:
    """A unique constraint without a long lock: its index built concurrently, then the
    constraint made from it (ADD CONSTRAINT ... USING INDEX only takes a brief lock)."""
    create_index_concurrently(name, table, [column], unique=True)
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}")


def duplicate_groups(table: str, key: str, show: int = 5) -> tuple[int, list[list[int]]]:
    """Rows of ``table`` sharing the value of the SQL expression ``key``: how many groups,
    and the ids of the first ``show`` of them (for a message an operator can act on)."""
    if op.get_context().as_sql:
        return 0, []  # offline there is no data to look at
    rows = (
        op.get_bind()
        .execute(
            text(
                f"SELECT array_agg(id ORDER BY id) AS ids, count(*) OVER () AS groups"  # noqa: S608
                f" FROM {table} GROUP BY {key} HAVING count(*) > 1 ORDER BY min(id) LIMIT :show"
            ),
            {"show": show},
        )
        .all()
    )
    return (int(rows[0].groups) if rows else 0), [list(row.ids) for row in rows]


def ids_of(groups: list[list[int]]) -> str:
    """duplicate_groups' examples for a message: "ids 3, 9; ids 4, 12"."""
    return "; ".join(f"ids {', '.join(map(str, ids))}" for ids in groups)


def drop_index_concurrently(name: str, table: str) -> None:
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def drop_invalid_leftover(name: str) -> None:
    if op.get_context().as_sql:
        # Offline (--sql) there is no database to ask; the reviewer is told instead.
        op.execute(
            f"-- if an earlier attempt left {name} INVALID, first: DROP INDEX CONCURRENTLY {name}"
        )
        return
    is_invalid = text(
        "SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid"
        " WHERE pg_class.relname = :name AND NOT pg_index.indisvalid"
        " AND pg_class.relnamespace = current_schema()::regnamespace"
    )
    if op.get_bind().execute(is_invalid, {"name": name}).first() is not None:
        op.drop_index(name, postgresql_concurrently=True, if_exists=True)
