"""username keys: backfill

Revision ID: 955dbf0e03fd
Revises: b1e5d7a90c21
Create Date: 2026-12-05 04:10:00+00:00

Every user from before the API wrote ``username_key`` gets the key of their username
(migrator.frozen.username_key_955dbf0e03fd), in batches by id: each batch one short
transaction under its own lock_timeout, throttled by MIGRATOR_BACKFILL_ROWS_PER_SECOND,
resumed where it stopped after a kill, stopped by SIGTERM after the batch in flight
(migrator.backfill). No table lock: only each batch's rows are locked, for the batch.

Run it once the API of b1e5d7a90c21 (which writes the key) is the one serving: a user an
older API renames afterwards would keep a stale key. The next revision catches rows an
older API created meanwhile, and stops if they keep coming.

Downgrade changes nothing: the keys go with the column (b1e5d7a90c21's downgrade).
"""

from collections.abc import Sequence

from alembic import op

from migrator.backfill import Backfill, run_in_revision
from migrator.frozen.username_key_955dbf0e03fd import set_username_keys

revision: str = "955dbf0e03fd"
down_revision: str | Sequence[str] | None = "b1e5d7a90c21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows only, no schema change (tests/migrations/test_revision_graph.py's stairway).
changes_rows_only = True

EVERY_USERNAME = Backfill("users.username_key", "users", "id, username", set_username_keys)


def upgrade() -> None:
    if op.get_context().as_sql:
        op.execute("-- backfill users.username_key in batches (migrator.backfill)")
        return
    run_in_revision(EVERY_USERNAME)


def downgrade() -> None:
    pass
