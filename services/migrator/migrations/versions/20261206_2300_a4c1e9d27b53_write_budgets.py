"""write budgets: stored bytes and writes counted per account

Revision ID: a4c1e9d27b53
Revises: 5d8e1f0a7b42
Create Date: 2026-12-06 23:00:00+00:00

Expand: three columns on users, each NOT NULL with a constant default (PostgreSQL 11+
stores the default in the catalog: no rewrite, no scan, a brief lock; the window's start
is the epoch, a window long over, so an account's first counted write opens one, and a
downgrade and upgrade give every row the same values again), and a trigger on
posts that keeps ``users.stored_bytes`` (the bytes of the author's titles and contents,
as stored) whoever writes: this api, the previous release during the rollout, psql.

Users from before start at 0 stored bytes; the next revision counts their posts. Until it
has, the budget only sees what they write from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4c1e9d27b53"
down_revision: str | Sequence[str] | None = "5d8e1f0a7b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

squawk_ignore = {
    # writes_in_window counts one window's writes, refused past a limit of hundreds.
    "prefer-bigint-over-int": "a count the write budget keeps small",
    "adding-not-nullable-field": "each has a constant default: PostgreSQL 11+ adds it to "
    "the catalog, without a rewrite or a scan",
}

# A post's size is that of its title and content as stored (UTF-8): octet_length, the
# measure of the api's page budget too. A change of author moves its bytes with it.
# RETURN NULL: an AFTER trigger's result is ignored.
COUNT_STORED_BYTES = """
CREATE FUNCTION count_stored_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE users
        SET stored_bytes = stored_bytes - octet_length(OLD.title) - octet_length(OLD.content)
        WHERE id = OLD.user_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE users
        SET stored_bytes = stored_bytes + octet_length(NEW.title) + octet_length(NEW.content)
        WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGER = """
CREATE TRIGGER posts_count_stored_bytes
AFTER INSERT OR DELETE OR UPDATE OF title, content, user_id ON posts
FOR EACH ROW EXECUTE FUNCTION count_stored_bytes()
"""


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("stored_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "users",
        sa.Column("writes_in_window", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "users",
        sa.Column(
            "writes_window_start",
            sa.DateTime(timezone=True),
            server_default=sa.text("'1970-01-01 00:00:00+00'"),
            nullable=False,
        ),
    )
    op.execute(COUNT_STORED_BYTES)
    op.execute(TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER posts_count_stored_bytes ON posts")
    op.execute("DROP FUNCTION count_stored_bytes()")
    op.drop_column("users", "writes_window_start")
    op.drop_column("users", "writes_in_window")
    op.drop_column("users", "stored_bytes")
