"""Proof for every revision: one head, an exact stairway, nothing left at base, squawk-clean SQL."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.script import Script
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic, migrate_in_process, revision_of
from harness.revisions import REVISIONS, SCRIPTS

# Everything in schema public a revision can change, as PostgreSQL itself describes it:
# columns (type, nullability, default, identity), constraints and indexes by definition;
# alembic's own version table aside.
SCHEMA = """
SELECT 'column', c.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
       || CASE a.attidentity WHEN '' THEN '' ELSE ' IDENTITY ' || a.attidentity::text END
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
  AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> 'alembic_version'
UNION ALL
SELECT 'constraint', conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  AND conrelid::regclass::text <> 'alembic_version'
UNION ALL
SELECT 'index', indexrelid::regclass::text,
       pg_get_indexdef(indexrelid) || CASE WHEN indisvalid THEN '' ELSE ' INVALID' END
FROM pg_index JOIN pg_class c ON c.oid = indexrelid
WHERE c.relnamespace = 'public'::regnamespace AND indrelid::regclass::text <> 'alembic_version'
UNION ALL
SELECT 'type', t.typname, t.typtype::text FROM pg_type t
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r') AND t.typrelid = 0
ORDER BY 1, 2
"""


def schema_snapshot(url: URL) -> list[tuple[object, ...]]:
    with connect(url) as db:
        return db.execute(SCHEMA).fetchall()


def test_there_is_a_single_head() -> None:
    assert len(SCRIPTS.get_heads()) == 1, SCRIPTS.get_heads()
    assert len(SCRIPTS.get_bases()) == 1, SCRIPTS.get_bases()


def test_stairway_each_downgrade_restores_the_schema_before_its_upgrade(
    empty_database: URL,
) -> None:
    started = time.monotonic()
    for script in REVISIONS:
        before_upgrade = schema_snapshot(empty_database)
        migrate_in_process(empty_database, "upgrade", script.revision)
        after_upgrade = schema_snapshot(empty_database)
        # A revision that only changes rows (a backfill) says so; any other must change
        # the schema.
        if getattr(script.module, "changes_rows_only", False):
            assert after_upgrade == before_upgrade, f"{script.revision} changed the schema"
        else:
            assert after_upgrade != before_upgrade, f"{script.revision} changed nothing"

        migrate_in_process(empty_database, "downgrade", "-1")
        assert revision_of(empty_database) == script.down_revision
        # The downgrade undid exactly what the upgrade did: not less, not more.
        assert schema_snapshot(empty_database) == before_upgrade, script.revision

        migrate_in_process(empty_database, "upgrade", script.revision)
        assert revision_of(empty_database) == script.revision
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
