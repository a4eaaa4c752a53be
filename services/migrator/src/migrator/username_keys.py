"""The backfill of ``users.username_key`` for the revisions "username keys: ...": each
row from before the API wrote the key gets the key of its username
(shared_models.identity), a batch at a time (migrator.backfill).

The rule is imported, not copied into the revisions: the key must be the one the API
writes, or two spellings of one name would slip past the unique index. A change to the
rule is a new revision that runs ``EVERY_USERNAME`` again (only keys that differ are
written).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row, text

from migrator.backfill import Backfill
from shared_models.identity import username_key

SET_KEYS = text("""
UPDATE users SET username_key = given.key
FROM unnest(CAST(:ids AS bigint[]), CAST(:keys AS text[])) AS given (id, key)
WHERE users.id = given.id AND users.username_key IS DISTINCT FROM given.key
""")


def set_username_keys(connection: Connection, rows: Sequence[Row[Any]]) -> int:
    """Each row's key from its username; returns how many keys were written (a row
    whose key is already right is left alone)."""
    result = connection.execute(
        SET_KEYS,
        {"ids": [row.id for row in rows], "keys": [username_key(row.username) for row in rows]},
    )
    return result.rowcount


EVERY_USERNAME = Backfill("users.username_key", "users", "id, username", set_username_keys)
# The rows still without a key: those an API older than the key wrote meanwhile.
USERNAMES_WITHOUT_KEY = replace(
    EVERY_USERNAME, name="users.username_key (catch-up)", where="username_key IS NULL"
)
