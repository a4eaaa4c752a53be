"""user accounts: password hash and token version

Revision ID: 3f0a6c2d9b17
Revises: c7e059802bac
Create Date: 2026-12-06 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f0a6c2d9b17"
down_revision: str | Sequence[str] | None = "c7e059802bac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

squawk_ignore = {
    # token_version counts one user's password changes: 2^31 of them will not happen.
    "prefer-bigint-over-int": "a per-user count of password changes",
}


def upgrade() -> None:
    # Expand only: two nullable columns with no default, metadata-only changes, instant
    # on a table of any size. No backfill: a user made before accounts has no password
    # (cannot log in) and a NULL token_version, which the API reads as 0. The previous
    # release never names either column, so it keeps working beside this schema.
    op.add_column("users", sa.Column("password_hash", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("token_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "token_version")
    op.drop_column("users", "password_hash")
