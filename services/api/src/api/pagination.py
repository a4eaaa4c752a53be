"""Keyset paging, the same on every list: ``?limit=`` and ``?after=<id>``, plus a Link header.

The body stays a plain JSON array, so clients of the tutorial app keep working;
the next page is announced the RFC 8288 way. ``WHERE id > :after ORDER BY id
LIMIT :n`` walks the primary key index, so page 10,000 costs what page 1 costs.

A page is bounded in bytes too, where rows can be large (posts): it stops once the rows
before the next one hold PAGE_BYTES of text, and Link carries on from there. So a page
of the largest posts holds at most PAGE_BYTES plus one post, whatever ``limit`` says,
and a worker's memory per request stays bounded (docs/api.md).
"""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute

from api.ids import MAX_ID, Digits
from api.responses import json_response

PAGE_BYTES = 1024 * 1024
MAX_LIMIT = 100

NEXT_LINK_HEADER = {
    "Link": {
        "description": 'RFC 8288 link to the next page (rel="next"); absent on the last page',
        "schema": {"type": "string"},
    }
}
# The column a budgeted page adds: how many rows the page's window held before the budget.
FETCHED = "fetched"


class Page(BaseModel):
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT), Digits] = Field(
        default=50, description=f"Items per page (1-{MAX_LIMIT})."
    )
    after: Annotated[int, Field(ge=0, le=MAX_ID), Digits] = Field(
        default=0, description="Return only items whose id is greater than this."
    )


PageQuery = Annotated[Page, Query()]


def keyset(
    columns: Sequence[InstrumentedAttribute[Any]],
    id_column: InstrumentedAttribute[int],
    *where: ColumnElement[bool],
    size: ColumnElement[int] | None = None,
) -> Select[Any]:
    """The page query: ``columns`` of the rows after ``:after`` in id order, one more
    than the page holds (the look-ahead row tells whether a next page exists, without a
    COUNT). With ``size`` (a row's bytes), the rows past ``:page_bytes`` are dropped, and
    each row says how many the window held (``fetched``): the window is taken first
    (LIMIT, by the index), the running sum over it second."""
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


def keyset_params(page: Page) -> dict[str, int]:
    return {"after": page.after, "look_ahead_limit": page.limit + 1, "page_bytes": PAGE_BYTES}


def page_response(rows: Sequence[Mapping[str, Any]], page: Page, request: Request) -> Response:
    """The page (without the look-ahead row) and, if more rows exist, a Link header
    pointing at the next page."""
    items = [dict(row) for row in rows[: page.limit]]
    more = len(rows) > page.limit
    if items and FETCHED in items[0]:
        more = more or items[0][FETCHED] > len(items)
        for item in items:
            del item[FETCHED]
    headers = None
    if more:
        next_url = request.url.include_query_params(after=items[-1]["id"], limit=page.limit)
        headers = {"Link": f'<{next_url}>; rel="next"'}
    return json_response(items, headers=headers)
