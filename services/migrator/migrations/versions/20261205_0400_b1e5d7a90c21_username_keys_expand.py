"""username keys: expand

Revision ID: b1e5d7a90c21
Revises: c5b7e2f91d3a
Create Date: 2026-12-05 04:00:00+00:00

Usernames become one per identity (shared_models.identity): ``users.username_key``, the
username normalised and case-folded, is where uniqueness will live. This first step only
adds the column, nullable and without a default: no rewrite and no scan, a brief lock.
The API that comes with it writes the key with every username it stores; the next
revision backfills the rows from before, then makes the key unique and required.

The code before this revision knows nothing of the column and keeps working.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1e5d7a90c21"
down_revision: str | Sequence[str] | None = "c5b7e2f91d3a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("username_key", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "username_key")
