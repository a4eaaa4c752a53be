"""The username key as revision 955dbf0e03fd computes it (shared_models.identity's rule
when it shipped), and the statement that writes it; 8101fe3d7927 catches up with it."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, text


def username_key(username: str) -> str:
    """Format characters removed, then NFKC, full case folding, and NFKC again."""
    # unicodedata's tables are the interpreter's: the API keys names with the same one.
    visible = "".join(c for c in username if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", visible).casefold()
    return unicodedata.normalize("NFKC", folded)


SET_KEYS = text("""
UPDATE users SET username_key = given.key
FROM unnest(CAST(:ids AS bigint[]), CAST(:keys AS text[])) AS given (id, key)
WHERE users.id = given.id AND users.username_key IS DISTINCT FROM given.key
""")


def set_username_keys(connection: Connection, rows: Sequence[Row[Any]]) -> int:
    """Each row's key from its username; returns how many keys were written (a row whose
    key is already right is left alone)."""
    result = connection.execute(
        SET_KEYS,
        {"ids": [row.id for row in rows], "keys": [username_key(row.username) for row in rows]},
    )
    return result.rowcount
