"""write budgets: count the stored bytes of users from before

Revision ID: b7d3f2086e14
Revises: a4c1e9d27b53
Create Date: 2026-12-06 23:10:00+00:00

Every user's ``stored_bytes`` set to the size of their posts, in batches by id
(migrator.backfill: short transactions, throttled, resumable, stopped by SIGTERM).

Exact while writes go on: a batch first locks its users' rows, so a post whose trigger
(a4c1e9d27b53) has already counted it is committed before the sum is read, and the
sum is read by a statement of its own, which sees every post committed by then. A post
written after waits for the batch to commit, then adds its bytes to the sum.
"""

from collections.abc import Sequence

from alembic import op

from migrator.backfill import Backfill, run_in_revision
from migrator.frozen.stored_bytes_b7d3f2086e14 import set_stored_bytes

revision: str = "b7d3f2086e14"
down_revision: str | Sequence[str] | None = "a4c1e9d27b53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows only, no schema change (tests/migrations/test_revision_graph.py's stairway).
changes_rows_only = True

EVERY_AUTHOR = Backfill("users.stored_bytes", "users", "id", set_stored_bytes)


def upgrade() -> None:
    if op.get_context().as_sql:
        op.execute("-- backfill users.stored_bytes in batches (migrator.backfill)")
        return
    run_in_revision(EVERY_AUTHOR)


def downgrade() -> None:
    pass
