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

from harness.databases import connect, new_database
from harness.paths import ALEMBIC_INI, ROOT
from harness.processes import alembic, alembic_command, migrator_env
from harness.revisions import revision_before, revision_named
from harness.roles import as_owner
from migrator.plan.command import make_plan
from migrator.plan.report import Plan, text
from migrator.plan.verdicts import Verdict
from migrator.settings import BackfillSettings, PlanSettings, plan_database
from shared_models.startup import Settings
from tests.support.scratch_migrations import ScratchMigrations

USERS = 5_000
POSTS_PER_USER = 2
# What `migrator plan` loads at its start, as far as the plan itself reads it.
PLAN_SETTINGS = Settings(
    "plan", {BackfillSettings: BackfillSettings(), PlanSettings: PlanSettings()}
)


@pytest.fixture(scope="module")
def populated_template(server_url: URL, migrated_template: URL) -> Iterator[URL]:
    """The database at head with users and posts in it, analysed (so the catalog's
    estimates the plan reads are current), made once: ``populated`` copies it, catalog
    statistics and all (its 10,000 posts each fire the stored-bytes trigger)."""
    with new_database(server_url, template=migrated_template, prefix="populated") as url:
        with connect(url) as db:
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
        yield url


@pytest.fixture
def populated(server_url: URL, populated_template: URL) -> Iterator[URL]:
    """A copy of the populated template, the test's own."""
    with new_database(server_url, template=populated_template) as url:
        yield url


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


# Revisions today's rows would make fail, each after the target is given its bad rows;
# and what the plan says of them. Each also fails on a copy without those rows: the
# plan tells them apart by reading the target.
BAD_ROWS = {
    "a NOT NULL column without a default": (
        'op.add_column("posts", sa.Column("slug", sa.String(100), nullable=False))',
        "",
        "posts.slug NOT NULL: 10,000 rows, which would have no value",
    ),
    "SET NOT NULL over rows with none": (
        'op.alter_column("users", "bio", nullable=False)',
        "UPDATE users SET bio = NULL WHERE id <= 7",
        "users.bio NOT NULL: 7 rows with no value",
    ),
    "a unique index over duplicates": (
        'op.create_index("uq_users_bio", "users", ["bio"], unique=True)',
        "UPDATE users SET bio = 'same' WHERE id <= 3",
        "unique uq_users_bio on users: 1 values held by more than one row",
    ),
    "a CHECK that rows break": (
        'op.create_check_constraint("short", "posts", "length(title) < 5")',  # named by convention
        "",
        "check ck_posts_short on posts: 10,000 rows that break it",
    ),
    "a foreign key to rows that are not there": (
        'op.create_foreign_key("fk_posts_author", "posts", "users", ["user_id"], ["id"])',
        "ALTER TABLE posts DROP CONSTRAINT fk_posts_user_id_users;"
        " UPDATE posts SET user_id = user_id + 1000000 WHERE id <= 4",
        "foreign key fk_posts_author on posts: 4 rows that refer to no row",
    ),
}


@pytest.mark.parametrize("shape", BAD_ROWS)
def test_what_todays_rows_would_refuse_fails_the_plan(
    shape: str, scratch: ScratchMigrations, owner_connections: tuple[Connection, Connection]
) -> None:
    upgrade, bad_rows, says = BAD_ROWS[shape]
    target, _ = owner_connections
    for statement in filter(None, bad_rows.split("; ")):
        target.exec_driver_sql(statement)
    target.commit()
    plan = plan_with(scratch, owner_connections, upgrade)
    assert plan.verdict is Verdict.FAILS, text(plan)
    [failing] = [s for s in plan.revisions[0].statements if s.verdict is Verdict.FAILS]
    assert says in failing.reason, failing.reason


@pytest.mark.parametrize(
    "upgrade",
    [
        'op.add_column("posts", sa.Column("slug", sa.String(100), nullable=False,'
        ' server_default="none"))',
        'op.alter_column("users", "bio", nullable=False)',
        'op.create_check_constraint("short", "posts", "length(title) < 5",'
        " postgresql_not_valid=True)",
        'op.create_foreign_key("fk_posts_author", "posts", "users", ["user_id"], ["id"])',
    ],
    ids=["a default fills it", "no row without one", "not validated", "every author is there"],
)
def test_rules_todays_rows_keep_do_not_fail_the_plan(
    upgrade: str, scratch: ScratchMigrations, owner_connections: tuple[Connection, Connection]
) -> None:
    plan = plan_with(scratch, owner_connections, upgrade)
    assert plan.verdict is not Verdict.FAILS, text(plan)


def test_rows_of_a_locked_table_are_not_waited_for(
    scratch: ScratchMigrations, populated: URL, owner_connections: tuple[Connection, Connection]
) -> None:
    with connect(populated) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        plan = plan_with(
            scratch,
            owner_connections,
            'op.add_column("posts", sa.Column("slug", sa.String(100), nullable=False))',
        )
        holder.execute("ROLLBACK")
    [statement] = plan.revisions[0].statements
    assert "not checked against today's rows (a table is locked now)" in statement.reason


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
    # The rollout's four revisions first; later ones, if any, are not this test's.
    rollout = plan.revisions[:4]
    assert [r.message for r in rollout] == [
        "username keys: expand",
        "username keys: backfill",
        "username keys: unique and required",
        "username keys: contract",
    ]
    assert {r.verdict for r in rollout} == {Verdict.SAFE}, text(plan)
    expand, backfill, enforce, contract = rollout
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


def test_the_command_exits_3_when_the_plan_says_stop(
    scratch: ScratchMigrations, populated: URL
) -> None:
    """A revision today's rows would fail stops it; one that blocks writes does only with
    --strict (what `make migrate` and `make release` ask)."""
    scratch.add_revision("f00d00000001", 'op.create_index("ix_users_bio", "users", ["bio"])')
    assert run_cli(populated, ini=str(scratch.ini)).returncode == 0
    strict = run_cli(populated, "--strict", ini=str(scratch.ini))
    assert strict.returncode == 3, strict.stderr
    assert "the plan says blocks writes: not migrating as it is" in strict.stderr
    scratch.add_revision(
        "f00d00000002",
        'op.add_column("posts", sa.Column("slug", sa.String(100), nullable=False))',
        down_revision="f00d00000001",
    )
    fails = run_cli(populated, ini=str(scratch.ini))
    assert fails.returncode == 3, fails.stderr
    assert "Verdict: fails" in fails.stdout


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


def test_the_username_rule_revision_is_safe_on_a_populated_database(
    populated: URL, owner_connections: tuple[Connection, Connection]
) -> None:
    rule = revision_named("username rule: report the names it refuses now")
    alembic(populated, "downgrade", str(revision_before(rule)))
    plan = make_plan(Config(str(ALEMBIC_INI)), *owner_connections, PLAN_SETTINGS)
    [planned] = [revision for revision in plan.revisions if revision.revision == rule]
    assert planned.verdict is Verdict.SAFE, text(plan)


def test_the_accounts_and_write_budget_rollout_is_safe_on_a_populated_database(
    populated: URL, owner_connections: tuple[Connection, Connection]
) -> None:
    """Every revision from accounts on, each planned on users and posts with rows: the
    columns, the login failures' table, the budget's trigger and its backfill."""
    accounts = revision_named("user accounts: password hash and token version")
    alembic(populated, "downgrade", str(revision_before(accounts)))
    plan = make_plan(Config(str(ALEMBIC_INI)), *owner_connections, PLAN_SETTINGS)
    rollout = plan.revisions[:4]
    assert [r.message for r in rollout] == [
        "user accounts: password hash and token version",
        "login failures: counted per username and client address",
        "write budgets: stored bytes and writes counted per account",
        "write budgets: count the stored bytes of users from before",
    ]
    assert {r.verdict for r in rollout} == {Verdict.SAFE}, text(plan)
    [backfill] = rollout[3].statements
    assert backfill.sql == "backfill users.stored_bytes"
