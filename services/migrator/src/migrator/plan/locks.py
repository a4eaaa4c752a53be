"""PostgreSQL's table lock modes, weakest first, and what each keeps others from doing.

See the table "Conflicting Lock Modes" in PostgreSQL's documentation: reads (SELECT)
take ACCESS SHARE, writes (INSERT, UPDATE, DELETE) ROW EXCLUSIVE.
"""

from __future__ import annotations

import re
from enum import IntEnum


class LockMode(IntEnum):
    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @classmethod
    def from_pg_locks(cls, mode: str) -> LockMode:
        """pg_locks.mode ("ShareUpdateExclusiveLock") to its member."""
        words = re.findall("[A-Z][a-z]+", mode.removesuffix("Lock"))
        return cls["_".join(words).upper()]

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def blocks_reads(self) -> bool:
        return self is LockMode.ACCESS_EXCLUSIVE

    @property
    def blocks_writes(self) -> bool:
        return self >= LockMode.SHARE
