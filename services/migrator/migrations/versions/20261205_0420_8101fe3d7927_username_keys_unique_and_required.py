"""username keys: unique and required

Revision ID: 8101fe3d7927
Revises: 955dbf0e03fd
Create Date: 2026-12-05 04:20:00+00:00

One user per username key (955dbf0e03fd's), enforced by the database, online:

1. a catch-up backfill keys the rows an older API created since the last revision;
   if some are still without a key after it, an API that does not write the key is still
   serving: it stops, changing nothing more, and says so;
2. a preflight finds keys already shared by several users (``José`` typed two ways,
   ``Zoe`` and a fullwidth ``Zoe``, ``straße`` and ``STRASSE``) and stops with their ids and what to
   do;
3. the unique index ``uq_users_username_key`` is built CONCURRENTLY (writes go on);
4. ``NOT NULL`` without a long lock: a CHECK added NOT VALID (brief lock, no scan), then
   VALIDATEd (a scan that lets reads and writes go on), then SET NOT NULL, which
   PostgreSQL proves from the valid CHECK without scanning again; the CHECK then goes.

The code before this revision writes the key with every username, so it keeps working;
an API older than b1e5d7a90c21 could not create users after step 4.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from migrator.backfill import Backfill, run_in_revision
from migrator.errors import MigratorError
from migrator.frozen.username_key_955dbf0e03fd import set_username_keys
from migrator.operations import (
    create_index_concurrently,
    drop_index_concurrently,
    duplicate_groups,
    ids_of,
)

revision: str = "8101fe3d7927"
down_revision: str | Sequence[str] | None = "955dbf0e03fd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# squawk rules this revision's SQL may break (tests/migrations/test_revision_graph.py), and why.
squawk_ignore = {
    "ban-drop-constraint": "the CHECK it drops was only the proof for SET NOT NULL, which "
    "guarantees the same",
    "adding-not-nullable-field": "SET NOT NULL comes after a validated CHECK (username_key "
    "IS NOT NULL), so PostgreSQL skips the scan and holds its lock only briefly",
}

CHECK = "ck_users_username_key_present"
# The rows still without a key: those an API older than the key wrote meanwhile.
USERNAMES_WITHOUT_KEY = Backfill(
    "users.username_key (catch-up)",
    "users",
    "id, username",
    set_username_keys,
    where="username_key IS NULL",
)


def key_every_username() -> None:
    if op.get_context().as_sql:
        op.execute("-- backfill users.username_key where it is NULL (migrator.backfill)")
        return
    run_in_revision(USERNAMES_WITHOUT_KEY)
    unkeyed = (
        op.get_bind()
        .execute(
            text(
                "SELECT array_agg(id) FROM"
                " (SELECT id FROM users WHERE username_key IS NULL ORDER BY id LIMIT 5) AS t"
            )
        )
        .scalar_one()
    )
    if unkeyed:
        raise MigratorError(
            f"users {', '.join(map(str, unkeyed))} were created without a username key "
            "after the catch-up: an API older than b1e5d7a90c21 is still serving. Nothing "
            "more was changed. Finish releasing the API that writes the key, then run the "
            "migrator again."
        )


def refuse_shared_keys() -> None:
    groups, examples = duplicate_groups("users", "username_key")
    if groups:
        shown = ids_of(examples)
        raise MigratorError(
            f"cannot make usernames unique by their key: {groups} key(s) are shared by "
            f"users whose names look alike (first ones: {shown}). Nothing was changed. "
            "Merge those users, or rename all but one of each group (say, append its id), "
            "then run the migrator again."
        )


def upgrade() -> None:
    key_every_username()
    refuse_shared_keys()
    create_index_concurrently("uq_users_username_key", "users", ["username_key"], unique=True)
    with op.get_context().autocommit_block():
        # A CHECK left NOT VALID by a try that failed is added again: ADD has no IF NOT EXISTS.
        op.execute(f"ALTER TABLE users DROP CONSTRAINT IF EXISTS {CHECK}")
        op.execute(
            f"ALTER TABLE users ADD CONSTRAINT {CHECK} CHECK (username_key IS NOT NULL) NOT VALID"
        )
        op.execute(f"ALTER TABLE users VALIDATE CONSTRAINT {CHECK}")
    # Both brief, together with the revision's stamp: NOT NULL is proved by the CHECK.
    op.alter_column("users", "username_key", nullable=False)
    op.execute(f"ALTER TABLE users DROP CONSTRAINT IF EXISTS {CHECK}")


def downgrade() -> None:
    op.alter_column("users", "username_key", nullable=True)
    drop_index_concurrently("uq_users_username_key", "users")
