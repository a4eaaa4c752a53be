"""Which of a table's unique rules a row's values would break, asked of the database
without making it fail: the rules are read from the model's own unique indexes and
constraints, so a rule added there is checked here too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    FromClause,
    Select,
    Table,
    UniqueConstraint,
    bindparam,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

# On a column the API derives from a field (``info={"identity_of": "username"}``): a clash
# on that column is reported on that field.
IDENTITY_OF = "identity_of"


@dataclass(frozen=True)
class UniqueRule:
    column: Column[Any]  # the column it is about
    expression: ColumnElement[Any]  # what must be unique: the column, or lower(column)

    @property
    def field(self) -> str:
        """The body's field a clash is reported on."""
        return str(self.column.info.get(IDENTITY_OF, self.column.key))

    @property
    def parameter(self) -> str:
        """The statement parameter holding the column's value."""
        return str(self.column.key)

    def held_by(self, rows: FromClause) -> ColumnElement[bool]:
        """A row of ``rows`` already holds the value given as the parameter."""

        def value_for_column(element: Any, **_: Any) -> Any:
            return bindparam(self.parameter) if element is self.column else None

        given: ColumnElement[Any] = visitors.replacement_traverse(
            self.expression, {}, value_for_column
        )
        held: ColumnElement[Any] = ClauseAdapter(rows).traverse(self.expression)
        return held == given


def unique_rules(table: Table) -> list[UniqueRule]:
    """One rule per single-column unique index or constraint, in the columns' order."""
    rules: list[UniqueRule] = []
    for index in table.indexes:
        if index.unique and len(index.expressions) == 1:
            expression = cast(ColumnElement[Any], index.expressions[0])
            columns = set(visitors.iterate(expression)) & set(table.columns)
            if len(columns) == 1:
                rules.append(UniqueRule(cast(Column[Any], columns.pop()), expression))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            (column,) = constraint.columns
            rules.append(UniqueRule(column, column))
    order = list(table.columns)
    return sorted(rules, key=lambda rule: order.index(rule.column))


class UniqueRules:
    """A table's unique rules, and the SQL that asks whether another row (than the one
    whose id is the parameter ``id_parameter``) holds a value given."""

    def __init__(self, table: Table, id_parameter: str) -> None:
        self.table = table
        self.id_parameter = id_parameter
        self.rules = unique_rules(table)
        self.fields = tuple(dict.fromkeys(rule.field for rule in self.rules))
        self.parameters = tuple(dict.fromkeys(rule.parameter for rule in self.rules))

    def held_by_another(
        self, fields: Iterable[str]
    ) -> tuple[FromClause, list[ColumnElement[bool]]]:
        other = self.table.alias("other")
        wanted = set(fields)
        return other, [rule.held_by(other) for rule in self.rules if rule.field in wanted]

    def another_id(self, other: FromClause) -> ColumnElement[bool]:
        return other.c.id != bindparam(self.id_parameter)

    def taken_by_another(self, fields: Iterable[str]) -> ColumnElement[bool]:
        """EXISTS another row holding a value given for one of ``fields``."""
        other, held = self.held_by_another(fields)
        return select(other.c.id).where(self.another_id(other), or_(*held)).exists()

    def taken(self) -> Select[Any]:
        """For each unique field, whether another row holds the value given (a NULL value
        is held by nobody): one row, from the rows the unique indexes find."""
        other, held = self.held_by_another(self.fields)
        rules_held = list(zip(self.rules, held, strict=True))
        by_field = [
            func.coalesce(
                func.bool_or(or_(*(h for rule, h in rules_held if rule.field == field))),
                false(),
            ).label(field)
            for field in self.fields
        ]
        return select(*by_field).where(self.another_id(other), or_(*held))
