"""login failures: counted per username and client address

Revision ID: 5d8e1f0a7b42
Revises: 3f0a6c2d9b17
Create Date: 2026-12-06 20:00:00+00:00

A new, empty table (the api's per-account login throttle), so its index is built in the
same transaction, on no rows: nothing else reads or writes the table yet.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d8e1f0a7b42"
down_revision: str | Sequence[str] | None = "3f0a6c2d9b17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

squawk_ignore = {
    # failures counts one window's failed logins, refused past a limit of tens.
    "prefer-bigint-over-int": "a count the throttle keeps small",
}


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("username_key", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "first_failed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("username_key", "address", name=op.f("pk_login_failures")),
    )
    op.create_index(
        "ix_login_failures_first_failed_at", "login_failures", ["first_failed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_login_failures_first_failed_at", table_name="login_failures")
    op.drop_table("login_failures")
