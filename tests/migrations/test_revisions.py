"""The real revisions through the real alembic command line, against a real PostgreSQL:
the schema they build is the models', both ways."""

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic
from harness.revisions import HEAD_REVISION, revision_before, revision_named

BIO_REVISION = revision_named("add user bio")
BEFORE_BIO = revision_before(BIO_REVISION)


def columns(url: URL, table: str) -> dict[str, dict[str, object]]:
    engine = create_engine(url)
    try:
        return {column["name"]: dict(column) for column in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def current_revision(url: URL) -> str:
    return alembic(url, "current").stdout.split()[0]


def test_upgrade_head_builds_the_schema_of_the_models(empty_database: URL) -> None:
    alembic(empty_database, "upgrade", "head")
    engine = create_engine(empty_database)
    try:
        schema = inspect(engine)
        assert set(schema.get_table_names()) >= {"users", "posts", "alembic_version"}
        users = {column["name"]: column for column in schema.get_columns("users")}
        assert users["username"]["nullable"] is False
        assert users["bio"]["nullable"] is True
        assert users["username_key"]["nullable"] is False
        # One user per username key (shared_models.identity), per lowered email: unique
        # indexes, no plain constraints.
        assert schema.get_unique_constraints("users") == []
        unique = {
            i["name"]: i.get("expressions", i["column_names"])
            for i in schema.get_indexes("users")
            if i["unique"]
        }
        assert unique == {
            "uq_users_username_key": ["username_key"],
            "uq_users_lower_email": ["lower(email::text)"],
        }
        (foreign_key,) = schema.get_foreign_keys("posts")
        assert foreign_key["name"] == "fk_posts_user_id_users"
        assert foreign_key["options"]["ondelete"] == "CASCADE"
        assert {index["name"] for index in schema.get_indexes("posts")} == {"ix_posts_user_id_id"}
        date_posted = next(c for c in schema.get_columns("posts") if c["name"] == "date_posted")
        assert date_posted["nullable"] is False
        assert "now()" in str(date_posted["default"])
    finally:
        engine.dispose()


def test_downgrade_past_bio_drops_it_and_upgrade_brings_it_back_keeping_rows(
    migrated_database: URL,
) -> None:
    with connect(migrated_database) as db:
        db.execute(
            "INSERT INTO users (username, username_key, email, bio)"
            " VALUES ('ada', 'ada', 'ada@x.org', 'hi')"
        )

    alembic(migrated_database, "downgrade", str(BEFORE_BIO))
    assert current_revision(migrated_database) == BEFORE_BIO
    assert "bio" not in columns(migrated_database, "users")

    alembic(migrated_database, "upgrade", "head")
    assert current_revision(migrated_database) == HEAD_REVISION
    assert "bio" in columns(migrated_database, "users")
    with connect(migrated_database) as db:
        # The row survived both directions; the dropped column's value could not.
        assert db.execute("SELECT username, bio FROM users").fetchall() == [("ada", None)]


def test_check_finds_no_difference_between_models_and_migrations(
    migrated_database: URL,
) -> None:
    result = alembic(migrated_database, "check")
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_history_lists_the_revisions_newest_first(empty_database: URL) -> None:
    history = alembic(empty_database, "history").stdout
    assert history.index("index posts by user and id") < history.index("add user bio")
    assert history.index("add user bio") < history.index("create users and posts")
