"""A statement compiled once, at import, for asyncpg, and how it runs on a connection:
per request only the parameters change (no statement is built, compiled or hashed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from asyncpg import Connection, Record
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


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


def compiled(statement: ClauseElement, columns: Iterable[str] | None = None) -> Query:
    """The statement's SQL for asyncpg, and its parameter names in order (for an INSERT,
    the columns given)."""
    sql = statement.compile(dialect=DIALECT, column_keys=list(columns) if columns else None)
    assert isinstance(sql, SQLCompiler)
    return Query(str(sql), tuple(sql.positiontup or ()))
