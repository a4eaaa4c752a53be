"""The write-budget revisions: users from before get the bytes their posts take, counted
by the backfill; from the expand on, the database's trigger counts every write; and a
post written while the backfill runs is counted once, not lost or doubled."""

from __future__ import annotations

import subprocess
import threading

import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.paths import ALEMBIC_INI
from harness.processes import alembic, alembic_command, migrator_env
from harness.revisions import revision_named

EXPAND = revision_named("write budgets: stored bytes and writes counted per account")
BEFORE = "5d8e1f0a7b42"  # login failures: the schema before budgets


def add_user(url: URL, name: str, contents: list[str]) -> int:
    with connect(url) as db:
        row = db.execute(
            "INSERT INTO users (username, username_key, email) VALUES (%s, %s, %s) RETURNING id",
            (name, name, f"{name}@example.org"),
        ).fetchone()
        assert row is not None
        user_id = int(str(row[0]))
        for content in contents:
            db.execute(
                "INSERT INTO posts (title, content, user_id) VALUES ('T', %s, %s)",
                (content, user_id),
            )
    return user_id


def counted_and_real(url: URL) -> dict[int, tuple[int, int]]:
    with connect(url) as db:
        rows = db.execute(
            "SELECT id, stored_bytes, (SELECT coalesce(sum(octet_length(title) "
            "+ octet_length(content)), 0) FROM posts WHERE user_id = users.id) FROM users"
        ).fetchall()
    return {int(str(i)): (int(str(c)), int(str(r))) for i, c, r in rows}


@pytest.fixture
def before_budgets(migrated_database: URL) -> URL:
    alembic(migrated_database, "downgrade", BEFORE)
    return migrated_database


def test_users_from_before_get_the_bytes_of_their_posts(before_budgets: URL) -> None:
    writer = add_user(before_budgets, "writer", ["é" * 10, "plain", "x" * 5000])
    silent = add_user(before_budgets, "silent", [])
    alembic(before_budgets, "upgrade", "head")
    counts = counted_and_real(before_budgets)
    assert counts[writer] == (3 + 20 + 5 + 5000,) * 2  # three titles "T", then contents
    assert counts[silent] == (0, 0)


def test_a_post_written_while_the_backfill_runs_is_counted_once(before_budgets: URL) -> None:
    """The post's trigger has counted it (from 0) and holds its author's row when the
    backfill reaches that row: the batch waits, then sums a set that holds the post."""
    author = add_user(before_budgets, "author", ["before"])
    alembic(before_budgets, "upgrade", EXPAND)
    writer = connect(before_budgets)
    writer.autocommit = False
    writer.execute(
        "INSERT INTO posts (title, content, user_id) VALUES ('T', 'during', %s)", (author,)
    )
    backfill = subprocess.Popen(
        alembic_command(ALEMBIC_INI, "upgrade", "head"),
        env=migrator_env(before_budgets),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    committer = threading.Timer(1.0, writer.commit)
    committer.start()
    output, _ = backfill.communicate(timeout=120)
    committer.join()
    writer.close()
    assert backfill.returncode == 0, output
    assert counted_and_real(before_budgets)[author] == (1 + 6 + 1 + 6,) * 2


def test_the_downgrade_stops_the_counting(before_budgets: URL) -> None:
    alembic(before_budgets, "upgrade", "head")
    alembic(before_budgets, "downgrade", BEFORE)
    add_user(before_budgets, "later", ["counted by nobody"])
    with connect(before_budgets) as db:
        triggers = db.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
    assert triggers == []
