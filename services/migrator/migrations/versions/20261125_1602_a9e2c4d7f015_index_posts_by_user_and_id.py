"""index posts by user and id

Revision ID: a9e2c4d7f015
Revises: d41f6b8e0a73
Create Date: 2026-11-25 16:02:00+00:00

Lists a user's posts in id order (and, read backwards, newest first) straight from
an index, and replaces ix_posts_user_id, whose lookups it serves as well. Built
and dropped CONCURRENTLY, so the API keeps reading and writing posts meanwhile.
"""

from collections.abc import Sequence

from migrator.operations import create_index_concurrently, drop_index_concurrently

revision: str = "a9e2c4d7f015"
down_revision: str | Sequence[str] | None = "d41f6b8e0a73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_index_concurrently("ix_posts_user_id_id", "posts", ["user_id", "id"])
    drop_index_concurrently("ix_posts_user_id", "posts")


def downgrade() -> None:
    create_index_concurrently("ix_posts_user_id", "posts", ["user_id"])
    drop_index_concurrently("ix_posts_user_id_id", "posts")
