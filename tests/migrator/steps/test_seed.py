"""`make seed`: the same demo rows every time, through the owner, safe to run again."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from harness.databases import connect, create_database, drop_database
from harness.processes import alembic, migrator_env
from harness.roles import set_up_roles
from migrator.steps.seed import POSTS_PER_USER, USERS
from tests.support.logs import log_lines

# Everything a client could see of the demo data, in a stable order.
CONTENT = """
SELECT u.username, u.email, u.bio, p.title, p.content, p.date_posted
FROM users u JOIN posts p ON p.user_id = u.id ORDER BY u.username, p.date_posted
"""


def run_seed(database: URL) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "migrator.steps.seed"],
        env=migrator_env(database), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def counts(database: URL) -> tuple[object, ...] | None:
    with connect(database) as db:
        return db.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM posts)"
        ).fetchone()


def test_seed_loads_the_demo_data_once_however_often_it_runs(migrated_database: URL) -> None:
    first = log_lines(run_seed(migrated_database).stderr)[-1]
    assert counts(migrated_database) == (USERS, USERS * POSTS_PER_USER)
    assert (first["users_added"], first["posts_added"]) == (USERS, USERS * POSTS_PER_USER)
    second = log_lines(run_seed(migrated_database).stderr)[-1]
    assert counts(migrated_database) == (USERS, USERS * POSTS_PER_USER)
    assert (second["users_added"], second["posts_added"]) == (0, 0)


def test_seed_gives_the_same_rows_on_every_database(
    migrated_database: URL, server_url: URL
) -> None:
    other = create_database(server_url)
    try:
        set_up_roles(other)
        alembic(other, "upgrade", "head")
        for database in (migrated_database, other):
            run_seed(database)
        engines = [create_engine(database) for database in (migrated_database, other)]
        rows = []
        for engine in engines:
            with engine.connect() as connection:
                rows.append(connection.exec_driver_sql(CONTENT).all())
            engine.dispose()
        assert rows[0] == rows[1]
        assert len(rows[0]) == USERS * POSTS_PER_USER
    finally:
        drop_database(other)


def test_the_demo_password_logs_in_and_its_hash_is_the_apis() -> None:
    """The hash seed writes is of the password the docs state, with the api's parameters."""
    from api.accounts.passwords import hasher
    from api.settings import PasswordHashing
    from migrator.steps.seed import DEMO_PASSWORD, DEMO_PASSWORD_HASH

    shipped = hasher(PasswordHashing())
    valid, rehashed = shipped.verify_and_update(DEMO_PASSWORD, DEMO_PASSWORD_HASH)
    assert valid
    assert rehashed is None  # made with the parameters the api hashes with as shipped
