"""Which of a model's columns the API shows and which a write sets, read from the model:
a column added there is selected, returned and written without another edit here."""

from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.orm import InstrumentedAttribute

from shared_models import Base

# A column marked ``info={"hidden": True}`` is never shown to a client (a derived key,
# a password hash); every other column is.
HIDDEN = "hidden"


def table_columns(model: type[Base]) -> list[Column[Any]]:
    table = model.__table__
    assert isinstance(table, Table)
    return list(table.columns)


def shown(model: type[Base]) -> tuple[InstrumentedAttribute[Any], ...]:
    """The columns a client reads, in the table's order."""
    return tuple(
        getattr(model, column.key) for column in table_columns(model) if not column.info.get(HIDDEN)
    )


def written(model: type[Base]) -> tuple[str, ...]:
    """The columns an INSERT sets: all but those the database fills (identity, default)."""
    return tuple(
        column.key
        for column in table_columns(model)
        if column.identity is None and column.server_default is None
    )
