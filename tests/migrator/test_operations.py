"""migrator.operations: an index built concurrently replaces the INVALID leftover of an
interrupted build under its name."""

import psycopg
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic
from harness.revisions import revision_before, revision_named


def test_index_build_replaces_an_invalid_leftover(migrated_database: URL) -> None:
    index_revision = revision_named("index posts by user and id")
    alembic(migrated_database, "downgrade", str(revision_before(index_revision)))
    with connect(migrated_database) as db:
        db.execute("INSERT INTO users (username, email) VALUES ('a', 'a@example.com')")
        user_id = db.execute("SELECT id FROM users").fetchone()
        assert user_id is not None
        for title in ("one", "two"):
            db.execute(
                "INSERT INTO posts (title, content, user_id) VALUES (%s, 'c', %s)",
                (title, user_id[0]),
            )
        # An interrupted build: a unique index on user_id fails on the duplicates and is
        # left behind INVALID, under the very name the revision builds.
        with pytest.raises(psycopg.errors.UniqueViolation):
            db.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_posts_user_id_id ON posts (user_id)")
        assert db.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_posts_user_id_id'::regclass"
        ).fetchone() == (False,)

    alembic(migrated_database, "upgrade", "head")

    with connect(migrated_database) as db:
        valid, definition = db.execute(
            "SELECT indisvalid, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indexrelid = 'ix_posts_user_id_id'::regclass"
        ).fetchone() or (None, None)
    assert valid is True
    assert str(definition).endswith("USING btree (user_id, id)")
