"""case-insensitive usernames and emails

Revision ID: c5b7e2f91d3a
Revises: a9e2c4d7f015
Create Date: 2026-11-26 02:00:00+00:00

"Ada" and "ada" become one username, Ada@Example.com and ada@example.com one email:
unique indexes on lower(username) and lower(email), stored values untouched. The
online way, for a big, busy table:

1. a preflight finds rows that already differ only by case and stops, changing
   nothing, with a message saying how many, which ids, and what to do;
2. the two indexes are built CONCURRENTLY (writes go on; an INVALID leftover of an
   interrupted try is dropped first; a duplicate written meanwhile fails the build and
   the next run's preflight names it);
3. only then are the plain unique constraints dropped: each lowered index forbids
   everything its constraint did, and more. Dropping takes a brief ACCESS EXCLUSIVE lock,
   bounded by MIGRATOR_LOCK_TIMEOUT and retried.

The code before this revision keeps working: a duplicate is still a unique violation
(409), whichever constraint reports it. Downgrade rebuilds the plain constraints the
same way (index concurrently, then ADD CONSTRAINT ... USING INDEX) before dropping the
lowered indexes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrator.errors import MigratorError
from migrator.operations import (
    add_unique_constraint_concurrently,
    create_index_concurrently,
    drop_index_concurrently,
    duplicate_groups,
    ids_of,
)

revision: str = "c5b7e2f91d3a"
down_revision: str | Sequence[str] | None = "a9e2c4d7f015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# squawk rules this revision's SQL may break (tests/migrations/test_revision_graph.py), and why.
squawk_ignore = {
    "ban-drop-constraint": "the lowered unique indexes built just before guarantee all that "
    "uq_users_username and uq_users_email did, and more",
}

COLUMNS = ("username", "email")


def refuse_case_duplicates() -> None:
    problems = []
    for column in COLUMNS:
        groups, examples = duplicate_groups("users", f"lower({column})")
        if groups:
            shown = ids_of(examples)
            problems.append(
                f"{groups} {column}(s) are shared by users that differ only by case "
                f"(first ones: {shown})"
            )
    if problems:
        raise MigratorError(
            "cannot make usernames and emails case-insensitive: "
            + "; ".join(problems)
            + ". Nothing was changed. Merge those users, or rename all but one of each "
            "group (say, append its id), then run the migrator again."
        )


def upgrade() -> None:
    refuse_case_duplicates()
    for column in COLUMNS:
        create_index_concurrently(
            f"uq_users_lower_{column}", "users", [sa.text(f"lower({column})")], unique=True
        )
    for column in COLUMNS:
        op.drop_constraint(f"uq_users_{column}", "users", type_="unique", if_exists=True)


def downgrade() -> None:
    for column in COLUMNS:
        add_unique_constraint_concurrently(f"uq_users_{column}", "users", column)
    for column in COLUMNS:
        drop_index_concurrently(f"uq_users_lower_{column}", "users")
