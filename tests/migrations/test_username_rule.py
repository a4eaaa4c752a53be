"""The username rule's revision: users whose names the rule now refuses are listed by
reason and id in the migrator's log, every row is left as it was, and the plan calls
the revision safe on a populated database."""

from __future__ import annotations

import json
import re

from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic, revision_of
from harness.revisions import revision_before, revision_named
from harness.roles import as_owner

RULE = revision_named("username rule: report the names it refuses now")
# Names taken before the rule: (name, the reason the revision gives, or None).
TAKEN = [
    ("ada", None),
    ("ad\u034fmin", "a control, invisible, direction or unassigned character"),
    ("\u0430dmin", "mixed scripts"),
    ("b\u03bfb", "mixed scripts"),
    ("a" + "\u0301" * 49, "combining marks stacked"),
    ("\u0430\u0440\u0440\u04cf\u0435", "another script read as Latin"),
]


def test_names_the_rule_refuses_now_are_listed_and_kept(migrated_database: URL) -> None:
    alembic(migrated_database, "downgrade", str(revision_before(RULE)))
    with connect(as_owner(migrated_database)) as db:
        ids = {
            name: db.execute(
                "INSERT INTO users (username, username_key, email) VALUES (%s, %s, %s)"
                " RETURNING id",
                (name, f"key-{number}", f"user{number}@example.com"),
            ).fetchone()[0]  # type: ignore[index]
            for number, (name, _) in enumerate(TAKEN)
        }
        before = db.execute("SELECT * FROM users ORDER BY id").fetchall()
    result = alembic(migrated_database, "upgrade", RULE, LOG_FORMAT="json")
    assert revision_of(migrated_database) == RULE
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    listed = {
        line["refused"]: {int(n) for n in re.findall(r"\d+", line["message"].split("ids ")[1])}
        for line in lines
        if "refused" in line
    }
    assert listed == {
        reason: {ids[name] for name, given in TAKEN if given == reason}
        for reason in {reason for _, reason in TAKEN if reason}
    }
    with connect(as_owner(migrated_database)) as db:
        assert db.execute("SELECT * FROM users ORDER BY id").fetchall() == before
