"""The username-key revisions, rolled out the online way: the backfill keys every row as
the API would, rows an older API wrote meanwhile are caught up (or the revision stops
saying that API still serves), look-alike names already there stop it with their ids,
and NOT NULL arrives through a validated CHECK."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic, revision_of
from harness.revisions import revision_named
from harness.roles import as_owner
from migrator.backfill import CREATE_PROGRESS
from shared_models.identity import username_key

EXPAND = revision_named("username keys: expand")
BACKFILL = revision_named("username keys: backfill")
ENFORCE = revision_named("username keys: unique and required")
CONTRACT = revision_named("username keys: contract")

NAMES = [
    "Ada",
    "Jos\u00e9",
    "stra\u00dfe",
    "\uff3aoe",
    "\u0130stanbul",
    "\u00c5ngstr\u00f6m",
    "bob",
]


@pytest.fixture
def expanded(migrated_database: URL) -> URL:
    """A database at the expand revision: the column is there, the API before never
    wrote it."""
    alembic(migrated_database, "downgrade", EXPAND)
    return migrated_database


def add_users(url: URL, names: list[str], *, keyed: bool = False) -> dict[str, int]:
    """Users written as an API is: without a key (before the expand), or with one."""
    with connect(url) as db:
        for name in names:
            db.execute(
                "INSERT INTO users (username, email, username_key) VALUES (%s, %s, %s)",
                (
                    name,
                    f"{len(name)}-{abs(hash(name))}@x.org",
                    username_key(name) if keyed else None,
                ),
            )
        return {str(n): int(str(i)) for i, n in db.execute("SELECT id, username FROM users")}


def keys(url: URL) -> dict[str, str | None]:
    with connect(url) as db:
        return {
            str(n): None if k is None else str(k)
            for n, k in db.execute("SELECT username, username_key FROM users")
        }


def nullable(url: URL) -> bool:
    with connect(url) as db:
        row = db.execute(
            "SELECT is_nullable FROM information_schema.columns"
            " WHERE table_name = 'users' AND column_name = 'username_key'"
        ).fetchone()
    assert row is not None
    return row[0] == "YES"


def test_the_backfill_gives_every_row_the_key_the_api_writes(expanded: URL) -> None:
    add_users(expanded, NAMES)
    add_users(expanded, ["Written-by-the-new-API"], keyed=True)
    alembic(expanded, "upgrade", BACKFILL)
    assert keys(expanded) == {
        name: username_key(name) for name in [*NAMES, "Written-by-the-new-API"]
    }
    assert keys(expanded)["stra\u00dfe"] == "strasse"
    assert keys(expanded)["\uff3aoe"] == "zoe"


def test_rows_an_older_api_created_after_the_backfill_are_caught_up(expanded: URL) -> None:
    alembic(expanded, "upgrade", BACKFILL)
    add_users(expanded, NAMES)  # an API before the expand, still serving meanwhile
    alembic(expanded, "upgrade", ENFORCE)
    assert keys(expanded) == {name: username_key(name) for name in NAMES}
    assert not nullable(expanded)


def test_an_older_api_still_writing_after_the_catch_up_stops_the_revision(expanded: URL) -> None:
    alembic(expanded, "upgrade", BACKFILL)
    with connect(as_owner(expanded)) as db:
        # Right after the catch-up ends (it deletes its progress row), a user is created
        # without a key, as an API before the expand would.
        db.execute(str(CREATE_PROGRESS.text))
        db.execute("""
            CREATE FUNCTION late_user() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO users (username, email) VALUES ('late', 'late@x.org');
                RETURN OLD;
            END $$""")
        db.execute(
            "CREATE TRIGGER late_user AFTER DELETE ON migrator_backfill"
            " FOR EACH ROW EXECUTE FUNCTION late_user()"
        )
    result = alembic(expanded, "upgrade", ENFORCE, check=False)
    assert result.returncode != 0
    late = add_users(expanded, [])["late"]
    assert f"users {late} were created without a username key after the catch-up" in result.stderr
    assert "an API older than b1e5d7a90c21 is still serving" in result.stderr
    assert revision_of(expanded) == BACKFILL
    assert nullable(expanded)

    alembic(expanded, "upgrade", ENFORCE)  # once it is gone (the trigger went with the table)
    assert keys(expanded)["late"] == "late"


def test_existing_look_alikes_stop_the_revision_until_renamed(expanded: URL) -> None:
    composed, decomposed = "Jos\u00e9", "Jose\u0301"
    ids = add_users(
        expanded, [composed, decomposed, "Zoe", "\uff3aoe", "stra\u00dfe", "STRASSE", "Cy"]
    )
    alembic(expanded, "upgrade", BACKFILL)

    result = alembic(expanded, "upgrade", ENFORCE, check=False)

    assert result.returncode != 0
    assert "3 key(s) are shared by users whose names look alike" in result.stderr
    for first, second in [(composed, decomposed), ("Zoe", "\uff3aoe"), ("stra\u00dfe", "STRASSE")]:
        assert f"ids {ids[first]}, {ids[second]}" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert revision_of(expanded) == BACKFILL
    assert nullable(expanded)

    with connect(expanded) as db:  # what the message says to do
        for name in (decomposed, "\uff3aoe", "STRASSE"):
            db.execute(
                "UPDATE users SET username = username || '-' || id, username_key = NULL"
                " WHERE id = %s",
                (ids[name],),
            )
    alembic(expanded, "upgrade", ENFORCE)
    assert not nullable(expanded)
    assert keys(expanded)[f"STRASSE-{ids['STRASSE']}"] == f"strasse-{ids['STRASSE']}"


def in_transaction(script: str) -> list[tuple[str, bool]]:
    """Each statement of an offline script, and whether it runs inside BEGIN ... COMMIT
    (outside: a transaction of its own, as psql runs it)."""
    inside, statements = False, []
    for line in script.splitlines():
        if line.startswith("BEGIN;"):
            inside = True
        elif line.startswith("COMMIT;"):
            inside = False
        elif line and not line.startswith("--"):
            statements.append((line, inside))
    return statements


def test_not_null_comes_through_a_check_validated_apart(expanded: URL) -> None:
    """ADD ... NOT VALID (brief lock), VALIDATE (reads and writes go on) each committed
    on its own, then SET NOT NULL (no scan: the valid CHECK proves it) and the CHECK
    dropped with the revision's stamp, in that order (--sql prints them as they run)."""
    script = alembic(expanded, "upgrade", f"{BACKFILL}:{ENFORCE}", "--sql").stdout
    order = [
        ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_users_username_key", False),
        ("CHECK (username_key IS NOT NULL) NOT VALID", False),
        ("VALIDATE CONSTRAINT ck_users_username_key_present", False),
        ("ALTER COLUMN username_key SET NOT NULL", True),
        ("DROP CONSTRAINT IF EXISTS ck_users_username_key_present;", True),
    ]
    statements = in_transaction(script)
    found, at = [], -1
    for text, _ in order:  # each after the one before
        at = next(i for i, (line, _) in enumerate(statements) if i > at and text in line)
        found.append((text, statements[at][1]))
    assert found == order, script


def test_downgrade_to_the_expand_and_up_again_keeps_every_user(expanded: URL) -> None:
    add_users(expanded, NAMES)
    alembic(expanded, "upgrade", ENFORCE)
    alembic(expanded, "downgrade", EXPAND)
    assert nullable(expanded)
    alembic(expanded, "upgrade", ENFORCE)
    assert keys(expanded) == {name: username_key(name) for name in NAMES}


def test_names_one_under_lower_but_two_by_key_stop_the_contract_s_downgrade(
    migrated_database: URL,
) -> None:
    """İstanbul and istanbul are two users at head; lower() makes them one (in the
    server's UTF-8 locale), so the lower(username) index cannot come back over them."""
    dotted = "\u0130stanbul"
    ids = add_users(migrated_database, [dotted, "istanbul"], keyed=True)
    result = alembic(migrated_database, "downgrade", ENFORCE, check=False)
    assert result.returncode != 0
    assert "1 username(s) are one under lower() but two users by their keys" in result.stderr
    assert f"ids {ids[dotted]}, {ids['istanbul']}" in result.stderr
    assert revision_of(migrated_database) == CONTRACT

    with connect(migrated_database) as db:
        db.execute("UPDATE users SET username = 'istanbul-2', username_key = 'istanbul-2'"
                   " WHERE username = 'istanbul'")  # fmt: skip
    alembic(migrated_database, "downgrade", ENFORCE)
    alembic(migrated_database, "upgrade", "head")
