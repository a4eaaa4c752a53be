"""Proof for every revision: one head, a clean stairway, nothing left at base, squawk-clean SQL."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL

from tests.support.databases import connect
from tests.support.processes import ALEMBIC_INI, alembic, migrate_in_process, revision_of

SCRIPTS = ScriptDirectory.from_config(Config(ALEMBIC_INI))
# Oldest first.
REVISIONS: list[Script] = list(reversed(list(SCRIPTS.walk_revisions())))


def schema_snapshot(url: URL) -> dict[str, object]:
    engine = create_engine(url)
    try:
        schema = inspect(engine)
        return {
            table: (
                sorted(
                    (c["name"], str(c["type"]), c["nullable"]) for c in schema.get_columns(table)
                ),
                sorted(index["name"] or "" for index in schema.get_indexes(table)),
                sorted(uq["name"] or "" for uq in schema.get_unique_constraints(table)),
                sorted(fk["name"] or "" for fk in schema.get_foreign_keys(table)),
            )
            for table in schema.get_table_names()
        }
    finally:
        engine.dispose()


def test_there_is_a_single_head() -> None:
    assert len(SCRIPTS.get_heads()) == 1, SCRIPTS.get_heads()
    assert len(SCRIPTS.get_bases()) == 1, SCRIPTS.get_bases()


def test_stairway_up_down_up_for_every_revision(empty_database: URL) -> None:
    started = time.monotonic()
    for script in REVISIONS:
        migrate_in_process(empty_database, "upgrade", script.revision)
        after_upgrade = schema_snapshot(empty_database)
        migrate_in_process(empty_database, "downgrade", "-1")
        assert revision_of(empty_database) == script.down_revision
        migrate_in_process(empty_database, "upgrade", script.revision)
        assert revision_of(empty_database) == script.revision
        # Down and up again lands exactly where the first upgrade did.
        assert schema_snapshot(empty_database) == after_upgrade, script.revision
    print(f"\nstairway over {len(REVISIONS)} revisions: {time.monotonic() - started:.1f}s")


def test_downgrade_to_base_leaves_only_an_empty_version_table(migrated_database: URL) -> None:
    alembic(migrated_database, "downgrade", "base")
    with connect(migrated_database) as db:
        objects = db.execute(
            "SELECT c.relname, c.relkind FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchall()
        types = db.execute(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c')"
            " AND t.typrelid = 0"
        ).fetchall()
        versions = db.execute("SELECT count(*) FROM alembic_version").fetchone()
    assert sorted(objects) == [("alembic_version", "r"), ("alembic_version_pkc", "i")]
    assert types == []
    assert versions == (0,)


@pytest.mark.parametrize("script", REVISIONS, ids=lambda script: script.revision)
def test_revision_sql_passes_squawk(script: Script, tmp_path: Path) -> None:
    span = f"{script.down_revision}:{script.revision}" if script.down_revision else script.revision
    sql = alembic(URL.create("postgresql"), "upgrade", span, "--sql").stdout
    assert "SET lock_timeout" in sql
    assert "SET statement_timeout" in sql
    sql_file = tmp_path / f"{script.revision}.sql"
    sql_file.write_text(sql)
    ignored: dict[str, str] = getattr(script.module, "squawk_ignore", {})
    assert all(reason.strip() for reason in ignored.values()), "every ignore needs its reason"
    command = [str(Path(sys.executable).parent / "squawk"), "--reporter", "gcc", str(sql_file)]
    if ignored:
        command.append("--exclude=" + ",".join(ignored))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"squawk on {script.revision}:\n{result.stdout}{result.stderr}"
