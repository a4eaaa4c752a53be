"""`make plan` on a populated database: each dangerous shape of revision gets its verdict
from what PostgreSQL reports, its safe counterpart is called safe, the project's own
username-key rollout is safe end to end, and the live database is only read."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.paths import ALEMBIC_INI, ROOT
from harness.processes import alembic, alembic_command, migrator_env
from harness.revisions import revision_named
from harness.roles import as_owner
from migrator.plan.command import make_plan
from migrator.plan.report import Plan, text
from migrator.plan.verdicts import Verdict
from migrator.settings import BackfillSettings, plan_database
from shared_models.startup import Settings
from tests.support.scratch_migrations import ScratchMigrations

USERS = 5_000
POSTS_PER_USER = 2
# What `migrator plan` loads at its start, as far as the plan itself reads it.
PLAN_SETTINGS = Settings("plan", {BackfillSettings: BackfillSettings()})


@pytest.fixture
def populated(migrated_database: URL) -> URL:
    """The database at head with users and posts in it, analysed (so the catalog's
    estimates the plan reads are current)."""
    with connect(migrated_database) as db:
        db.execute(
            "INSERT INTO users (username, username_key, email, bio)"
            " SELECT 'u' || i, 'u' || i, 'u' || i || '@example.org', 'bio ' || i"
            " FROM generate_series(1, %s) AS i",
            (USERS,),
        )
        db.execute(
            "INSERT INTO posts (title, content, user_id)"
            " SELECT 'title', repeat('x', 200), id FROM users, generate_series(1, %s)",
            (POSTS_PER_USER,),
        )
        db.execute("ANALYZE users")
        db.execute("ANALYZE posts")
    return migrated_database


@pytest.fixture
def owner_connections(populated: URL) -> Iterator[tuple[Connection, Connection]]:
    """The target and its scratch copy, as the schema owner (as the migrator connects).
    The target's connection gives up on any lock after 2 s, so a plan that took one
    while another session holds the table would fail, not hang."""
    url = as_owner(populated).set(drivername="postgresql+psycopg")
    target = create_engine(url, connect_args={"options": "-c lock_timeout=2s"})
    scratch = create_engine(url.set(database=plan_database(url.database or "")))
    with target.connect() as on_target, scratch.connect() as on_scratch:
        yield on_target, on_scratch
    target.dispose()
    scratch.dispose()


def plan_with(
    scratch: ScratchMigrations, connections: tuple[Connection, Connection], upgrade: str
) -> Plan:
    scratch.add_revision("f00d00000001", upgrade)
    return make_plan(Config(str(scratch.ini)), *connections, PLAN_SETTINGS)


def test_the_plan_of_nothing_pending_says_so(
    scratch: ScratchMigrations, owner_connections: tuple[Connection, Connection]
) -> None:
    plan = make_plan(Config(str(scratch.ini)), *owner_connections, PLAN_SETTINGS)
    assert plan.revisions == []
    assert plan.verdict is Verdict.SAFE
    assert "the head: nothing to apply" in text(plan)


CHECK_NOT_VALID = "ALTER TABLE users ADD CONSTRAINT ck_bio CHECK (bio IS NOT NULL) NOT VALID"

# One revision per shape: the statement's verdict, and words its reason must carry.
SHAPES = {
    "index built in the transaction": (
        'op.create_index("ix_users_bio", "users", ["bio"])',
        Verdict.BLOCKS_WRITES,
        ["reads all 5,000 rows of users", "SHARE on users"],
    ),
    "index built concurrently": (
        "with op.get_context().autocommit_block():\n"
        '    op.create_index("ix_users_bio", "users", ["bio"], postgresql_concurrently=True)',
        Verdict.SAFE,
        ["blocks neither reads nor writes", "SHARE UPDATE EXCLUSIVE on users"],
    ),
    "SET NOT NULL with no validated CHECK": (
        'op.alter_column("users", "bio", nullable=False)',
        Verdict.BLOCKS_READS_AND_WRITES,
        ["reads all 5,000 rows of users", "ACCESS EXCLUSIVE on users"],
    ),
    "a CHECK validated in the same transaction as its NOT VALID": (
        f'op.execute("{CHECK_NOT_VALID}")\n'
        'op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_bio")',
        Verdict.BLOCKS_READS_AND_WRITES,
        ["ACCESS EXCLUSIVE on users"],
    ),
    "SET NOT NULL through a CHECK validated apart": (
        "with op.get_context().autocommit_block():\n"
        f'    op.execute("{CHECK_NOT_VALID}")\n'
        '    op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_bio")\n'
        'op.alter_column("users", "bio", nullable=False)',
        Verdict.SAFE,
        ["NOT NULL proved by a validated CHECK, no scan"],
    ),
    "a foreign key validated at once": (
        'op.create_foreign_key("fk_posts_author", "posts", "users", ["user_id"], ["id"])',
        Verdict.BLOCKS_WRITES,
        ["reads all 10,000 rows of posts", "SHARE ROW EXCLUSIVE on posts"],
    ),
    "a foreign key NOT VALID": (
        'op.create_foreign_key("fk_posts_author", "posts", "users", ["user_id"], ["id"],'
        " postgresql_not_valid=True)",
        Verdict.SAFE,
        ["briefly"],
    ),
    "a type change that rewrites": (
        'op.alter_column("users", "bio", type_=sa.Integer(), postgresql_using="length(bio)")',
        Verdict.REWRITES,
        ["rewrites users (5,000 rows", "ACCESS EXCLUSIVE on users"],
    ),
    "a type change that does not (varchar to text)": (
        'op.alter_column("users", "bio", type_=sa.Text())',
        Verdict.SAFE,
        ["ACCESS EXCLUSIVE on users briefly"],
    ),
    "a volatile default": (
        'op.add_column("users", sa.Column("token", sa.Float(),'
        ' server_default=sa.text("random()")))',
        Verdict.REWRITES,
        ["rewrites users (5,000 rows"],
    ),
    "a constant default": (
        'op.add_column("users", sa.Column("flag", sa.Boolean(), server_default=sa.true()))',
        Verdict.SAFE,
        ["briefly"],
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_of_revision_gets_its_verdict_on_a_populated_table(
    shape: str, scratch: ScratchMigrations, owner_connections: tuple[Connection, Connection]
) -> None:
    upgrade, verdict, words = SHAPES[shape]
    plan = plan_with(scratch, owner_connections, upgrade)
    [revision] = plan.revisions
    assert revision.revision == "f00d00000001"
    assert revision.verdict is verdict, text(plan)
    assert plan.verdict is verdict
    [worst] = [s for s in revision.statements if s.verdict is verdict][-1:]
    for word in words:
        assert word in worst.reason, text(plan)
    assert plan.tables["users"].rows == USERS


def test_the_same_shape_on_an_empty_table_is_safe(
    scratch: ScratchMigrations, owner_connections: tuple[Connection, Connection]
) -> None:
    target, _ = owner_connections
    target.exec_driver_sql("DELETE FROM posts")
    target.exec_driver_sql("DELETE FROM users")
    target.exec_driver_sql("ANALYZE users")
    target.commit()
    plan = plan_with(
        scratch, owner_connections, 'op.create_index("ix_users_bio", "users", ["bio"])'
    )
    assert plan.verdict is Verdict.SAFE, text(plan)
    assert "users empty" in text(plan)


def test_statements_outside_a_transaction_are_reported_from_what_they_are(
    scratch: ScratchMigrations, owner_connections: tuple[Connection, Connection]
) -> None:
    plan = plan_with(
        scratch,
        owner_connections,
        "with op.get_context().autocommit_block():\n"
        '    op.create_index("ix_users_bio", "users", ["bio"], postgresql_concurrently=True)\n'
        '    op.drop_index("ix_users_bio", "users", postgresql_concurrently=True)\n'
        '    op.execute("ALTER TABLE users ADD COLUMN note text")',
    )
    create, drop, add = plan.revisions[0].statements
    assert (create.in_transaction, create.scans) == (False, ["users"])
    assert (drop.in_transaction, drop.scans) == (False, [])
    assert create.locks == drop.locks == {"users": "SHARE UPDATE EXCLUSIVE"}
    # In autocommit but able to run in a transaction: wrapped in one, and read.
    assert (add.in_transaction, add.locks) == (True, {"users": "ACCESS EXCLUSIVE"})


def test_the_username_key_rollout_is_safe_and_its_backfill_is_planned_not_run(
    populated: URL, owner_connections: tuple[Connection, Connection]
) -> None:
    alembic(populated, "downgrade", revision_named("case-insensitive usernames and emails"))
    target, _ = owner_connections
    plan = make_plan(Config(str(ALEMBIC_INI)), *owner_connections, PLAN_SETTINGS)
    assert [r.message for r in plan.revisions] == [
        "username keys: expand",
        "username keys: backfill",
        "username keys: unique and required",
        "username keys: contract",
    ]
    assert plan.verdict is Verdict.SAFE, text(plan)
    expand, backfill, enforce, contract = plan.revisions
    assert expand.statements[0].locks == {"users": "ACCESS EXCLUSIVE"}
    [keys] = backfill.statements
    assert keys.sql == "backfill users.username_key"
    assert "changes up to 5,000 rows of users in batches of 1,000" in keys.reason
    catch_up = enforce.statements[0]
    assert catch_up.sql == "backfill users.username_key (catch-up)"
    assert "where username_key IS NULL" in catch_up.reason
    assert any("proved by a validated CHECK" in s.reason for s in enforce.statements)
    assert {s.verdict for s in contract.statements} == {Verdict.SAFE}
    # Planned, not run: the target has no key column yet, nor progress table.
    assert (
        target.exec_driver_sql(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'username_key'"
        ).scalar_one()
        == 0
    )


def test_the_plan_takes_no_lock_on_the_live_tables(
    scratch: ScratchMigrations, populated: URL, owner_connections: tuple[Connection, Connection]
) -> None:
    with connect(populated) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE users, posts IN ACCESS EXCLUSIVE MODE")
        plan = plan_with(
            scratch, owner_connections, 'op.create_index("ix_users_bio", "users", ["bio"])'
        )
        holder.execute("ROLLBACK")
    assert plan.verdict is Verdict.BLOCKS_WRITES


def run_cli(url: URL, *args: str, ini: str) -> subprocess.CompletedProcess[str]:
    """``migrator plan``, as the image runs it."""
    return subprocess.run(
        alembic_command(Path(ini), "plan", *args),
        env=migrator_env(url), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_command_prints_the_plan_for_a_person_and_as_json(
    scratch: ScratchMigrations, populated: URL
) -> None:
    scratch.add_revision("f00d00000001", 'op.create_index("ix_users_bio", "users", ["bio"])')
    person = run_cli(populated, ini=str(scratch.ini))
    assert person.returncode == 0, person.stderr
    assert "Verdict: blocks writes" in person.stdout
    # The scratch database's migration is not logged as if the real one were migrated.
    assert "Running upgrade" not in person.stderr
    assert "CREATE INDEX ix_users_bio ON users (bio)" in person.stdout
    as_json = run_cli(populated, "--json", ini=str(scratch.ini))
    assert as_json.returncode == 0, as_json.stderr
    plan = json.loads(as_json.stdout)
    assert plan["verdict"] == "blocks writes"
    assert plan["tables"]["users"]["rows"] == USERS
    assert plan["revisions"][0]["statements"][0]["locks"] == {"users": "SHARE"}


def test_the_command_names_a_missing_scratch_database(populated: URL) -> None:
    with connect(populated.set(database="postgres")) as admin:
        admin.execute(f'DROP DATABASE "{plan_database(populated.database or "")}"')
    result = run_cli(populated, ini=str(ALEMBIC_INI))
    assert result.returncode == 1
    assert f"the scratch database {plan_database(populated.database or '')}" in result.stderr
    assert "roles step makes it" in result.stderr


def test_a_revision_that_fails_on_the_copy_fails_the_plan_and_nothing_else(
    scratch: ScratchMigrations, populated: URL
) -> None:
    scratch.add_revision("f00d00000001", 'op.execute("ALTER TABLE users ADD COLUMN id text")')
    result = run_cli(populated, ini=str(scratch.ini))
    assert result.returncode == 1
    assert "the pending revisions fail on a copy of the schema" in result.stderr
    assert "DuplicateColumn" in result.stderr  # the database's own error, in the traceback
    with connect(populated) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() != ("f00d00000001",)


def test_python_m_migrator_plan_is_migrator_plan(populated: URL) -> None:
    # The form scripts call (bench.username_keys_rollout): the options before or after.
    result = subprocess.run(
        [sys.executable, "-m", "migrator.plan", "--json", "-c", str(ALEMBIC_INI)],
        env=migrator_env(populated), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["revisions"] == []


def test_make_plan_json_prints_the_plan_alone_for_a_pipe() -> None:
    # make echoes a recipe's command to stdout unless told not to: `| jq` would choke.
    result = subprocess.run(
        ["make", "--no-print-directory", "plan", "json=1", "COMPOSE=true"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout == ""
