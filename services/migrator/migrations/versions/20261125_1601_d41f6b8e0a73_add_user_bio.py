"""add user bio

Revision ID: d41f6b8e0a73
Revises: 7c3e1a9b2f40
Create Date: 2026-11-25 16:01:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d41f6b8e0a73"
down_revision: str | Sequence[str] | None = "7c3e1a9b2f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

squawk_ignore = {
    # bio is at most 250 characters by contract; adding a nullable column is instant.
    "prefer-text-field": "bounded length is part of the contract",
}


def upgrade() -> None:
    # Nullable with no default: a metadata-only change, instant on a table of any size.
    op.add_column("users", sa.Column("bio", sa.String(length=250), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "bio")
