"""The statement revision b7d3f2086e14 counts each user's stored bytes with, as it shipped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, text

# The batch's rows are locked already (migrator.backfill reads them FOR NO KEY UPDATE),
# and this is a statement of its own: it sees every post committed before the lock.
SET_STORED_BYTES = text("""
UPDATE users SET stored_bytes = counted.bytes
FROM (
    SELECT given.id, coalesce(sum(octet_length(posts.title) + octet_length(posts.content)), 0)
    FROM unnest(CAST(:ids AS bigint[])) AS given (id)
    LEFT JOIN posts ON posts.user_id = given.id
    GROUP BY given.id
) AS counted (id, bytes)
WHERE users.id = counted.id AND users.stored_bytes IS DISTINCT FROM counted.bytes
""")


def set_stored_bytes(connection: Connection, rows: Sequence[Row[Any]]) -> int:
    """Each row's user's stored bytes from their posts; returns how many changed."""
    result = connection.execute(SET_STORED_BYTES, {"ids": [row.id for row in rows]})
    return result.rowcount
