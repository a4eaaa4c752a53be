"""username keys: contract

Revision ID: e9e1817911e1
Revises: 8101fe3d7927
Create Date: 2026-12-05 04:30:00+00:00

The lower(username) index of c5b7e2f91d3a retires: uq_users_username_key forbids what it
did (names that differ only by case) and more. It goes CONCURRENTLY, so no query waits
on it. Names it held to be one user can now be two: lower() maps a dotted capital ``İ`` to a
plain ``i`` in most locales, where case folding keeps the dot (``i̇``), so ``İstanbul``
and ``istanbul`` are now two users, as Unicode and RFC 8265 have them.

The code before this revision checks a taken username against lower(username) too; with
the index gone that check reads the table (only when a write would clash, or a PATCH
renames), until this revision's API replaces it.

Downgrade builds the index again, concurrently, after a preflight: names that are two
users now but one under lower() stop it with their ids, changing nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from migrator.errors import MigratorError
from migrator.operations import (
    create_index_concurrently,
    drop_index_concurrently,
    duplicate_groups,
    ids_of,
)

revision: str = "e9e1817911e1"
down_revision: str | Sequence[str] | None = "8101fe3d7927"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_users_lower_username"


def upgrade() -> None:
    drop_index_concurrently(INDEX, "users")


def downgrade() -> None:
    groups, examples = duplicate_groups("users", "lower(username)")
    if groups:
        shown = ids_of(examples)
        raise MigratorError(
            f"cannot bring back the lower(username) index: {groups} username(s) are one "
            f"under lower() but two users by their keys (first ones: {shown}). Nothing was "
            "changed. Rename all but one of each group, then downgrade again."
        )
    create_index_concurrently(INDEX, "users", [sa.text("lower(username)")], unique=True)
