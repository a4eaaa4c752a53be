"""Which unique rule a user's values would break, asked of the database without making
it fail.

A unique violation is an ERROR in PostgreSQL's log, with the value in its DETAIL (an
email: personal data in the log), so the normal 409 must not be one. A create is
``INSERT ... ON CONFLICT DO NOTHING`` (the unique indexes still decide, race-free); a
change adds ``AND NOT EXISTS`` (another row taking the value). When either writes
nothing, ``TAKEN`` says which field is taken. The rules come from the model's own unique
indexes and constraints (shared_models), so a rule added there is checked here too.
Only a race between two changes can still reach the index and its error, and that
error's constraint names the field (api.database_errors).
"""

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

from shared_models import User
from shared_models.identity import username_key


@dataclass(frozen=True)
class UniqueRule:
    column: Column[Any]  # the column it is about
    expression: ColumnElement[Any]  # what must be unique: the column, or lower(column)

    @property
    def field(self) -> str:
        """The body's field a clash is reported on: the column's own name, or for a key
        the API derives (username_key) the field it is the identity of."""
        return str(self.column.info.get("identity_of", self.column.key))

    @property
    def parameter(self) -> str:
        """The statement parameter holding the column's value (api.uniqueness.with_keys)."""
        return str(self.column.key)

    def held_by(self, rows: FromClause) -> ColumnElement[bool]:
        """A row of ``rows`` already holds the value given as the parameter ``field``."""

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


USERS: Table = User.__table__  # type: ignore[assignment]
USER_RULES = unique_rules(USERS)
UNIQUE_FIELDS = tuple(dict.fromkeys(rule.field for rule in USER_RULES))
UNIQUE_PARAMETERS = tuple(dict.fromkeys(rule.parameter for rule in USER_RULES))


def held_by_another(fields: Iterable[str]) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """Another user than ``user_id``, and for each rule on ``fields`` whether it holds
    the value given for it."""
    other = USERS.alias("other")
    wanted = set(fields)
    return other, [rule.held_by(other) for rule in USER_RULES if rule.field in wanted]


def taken_by_another(fields: Iterable[str]) -> ColumnElement[bool]:
    """EXISTS another user holding a value given for one of ``fields``."""
    other, held = held_by_another(fields)
    return select(other.c.id).where(other.c.id != bindparam("user_id"), or_(*held)).exists()


def taken() -> Select[Any]:
    """For each unique field, whether another user holds the value given (a NULL value
    is held by nobody): one row, from the rows the unique indexes find."""
    other, held = held_by_another(UNIQUE_FIELDS)
    rules_held = list(zip(USER_RULES, held, strict=True))
    by_field = [
        func.coalesce(
            func.bool_or(or_(*(h for r, h in rules_held if r.field == f))), false()
        ).label(f)
        for f in UNIQUE_FIELDS
    ]
    return select(*by_field).where(other.c.id != bindparam("user_id"), or_(*held))


def with_keys(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the username's key beside the username (shared_models.identity):
    the API writes it with every username it stores."""
    if "username" not in values:
        return values
    return {**values, "username_key": username_key(values["username"])}
