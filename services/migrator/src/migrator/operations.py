"""Operations for revisions that must not block the API while they run.

``CREATE INDEX CONCURRENTLY`` cannot run inside a transaction, and when it fails
(a lock timeout, a cancelled deploy) it leaves an INVALID index behind that is
still maintained on every write. These helpers run it in alembic's autocommit
block, drop such a leftover first, and are safe to run again.
"""

from typing import Any

from alembic import op
from sqlalchemy import text


def create_index_concurrently(name: str, table: str, columns: list[str], **kw: Any) -> None:
    with op.get_context().autocommit_block():
        drop_invalid_leftover(name)
        op.create_index(
            name, table, columns, postgresql_concurrently=True, if_not_exists=True, **kw
        )


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
