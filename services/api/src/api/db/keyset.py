"""Keyset pages: ``WHERE id > :after ORDER BY id LIMIT :look_ahead_limit`` walks the
primary key's index, so page 10,000 costs what page 1 costs. A page may also be
budgeted in bytes (``PAGE_BYTES`` of its rows' ``size``, plus one row)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute

PAGE_BYTES = 1024 * 1024
# The column a budgeted page adds: how many rows the page's window held before the budget.
FETCHED = "fetched"


def keyset(
    columns: Sequence[InstrumentedAttribute[Any]],
    id_column: InstrumentedAttribute[int],
    *where: ColumnElement[bool],
    size: ColumnElement[int] | None = None,
) -> Select[Any]:
    """``columns`` of the rows after ``:after`` in id order, one more than the page holds
    (the look-ahead row says whether a next page exists, without a COUNT). With ``size``
    (a row's bytes) the rows past ``:page_bytes`` are dropped and each row says how many
    the window held (``fetched``): the window is taken first, by the index, the running
    sum over it second."""
    window = (
        select(*columns)
        .where(id_column > bindparam("after"), *where)
        .order_by(id_column)
        .limit(bindparam("look_ahead_limit"))
    )
    if size is None:
        return window
    sized = window.add_columns(size.label("size")).subquery("page")
    ahead = (
        select(
            *(sized.c[column.key] for column in columns),
            (func.sum(sized.c.size).over(order_by=sized.c.id) - sized.c.size).label("before"),
            func.count().over().label(FETCHED),
        )
    ).subquery("sized")
    return (
        select(*(ahead.c[column.key] for column in columns), ahead.c[FETCHED])
        .where(ahead.c.before < bindparam("page_bytes"))
        .order_by(ahead.c.id)
    )


def keyset_params(after: int, limit: int) -> dict[str, int]:
    return {"after": after, "look_ahead_limit": limit + 1, "page_bytes": PAGE_BYTES}
