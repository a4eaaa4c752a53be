"""username rule: report the names it refuses now

Revision ID: c7e059802bac
Revises: e9e1817911e1
Create Date: 2026-12-06 04:00:00+00:00

The identity rule refuses more since this release (invisible characters, stacked
combining marks, mixed scripts, another script read as Latin: docs/api.md). Names
already taken keep working as they are: this revision lists those the rule would refuse
now, by reason and id, in the migrator's log, and changes nothing
(migrator.frozen.username_rule_c7e059802bac). It reads users a batch at a time.
"""

from collections.abc import Sequence

from alembic import op

from migrator.frozen.username_rule_c7e059802bac import report_refused_names

revision: str = "c7e059802bac"
down_revision: str | Sequence[str] | None = "e9e1817911e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows only, and only read (tests/migrations/test_revision_graph.py's stairway).
changes_rows_only = True


def upgrade() -> None:
    if op.get_context().as_sql:
        op.execute("-- reports the users whose names the username rule refuses now")
        return
    report_refused_names(op.get_bind())


def downgrade() -> None:
    pass
