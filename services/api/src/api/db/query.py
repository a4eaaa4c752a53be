"""A statement compiled for asyncpg, and how it runs on a connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asyncpg import Connection, Record


@dataclass(frozen=True, slots=True)
class Query:
    """A statement's SQL ($1, $2...) and the names of its parameters in order."""

    sql: str
    names: tuple[str, ...]

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]

    async def fetchrow(self, connection: Connection, **params: Any) -> Record | None:
        row: Record | None = await connection.fetchrow(self.sql, *self.args(params))
        return row

    async def fetch(self, connection: Connection, **params: Any) -> list[Record]:
        rows: list[Record] = await connection.fetch(self.sql, *self.args(params))
        return rows
