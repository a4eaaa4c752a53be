"""Keyset paging, the same on every list: ``?limit=`` and ``?after=<id>``, plus a Link header.

The body stays a plain JSON array, so clients of the tutorial app keep working;
the next page is announced the RFC 8288 way. ``WHERE id > :after ORDER BY id
LIMIT :n`` walks the primary key index, so page 10,000 costs what page 1 costs.
"""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, bindparam
from sqlalchemy.orm import InstrumentedAttribute

from api.ids import MAX_ID
from api.responses import json_response, records

NEXT_LINK_HEADER = {
    "Link": {
        "description": 'RFC 8288 link to the next page (rel="next"); absent on the last page',
        "schema": {"type": "string"},
    }
}

Statement = TypeVar("Statement", bound=Select[*tuple[Any, ...]])


class Page(BaseModel):
    limit: int = Field(default=50, ge=1, le=100, description="Items per page (1-100).")
    after: int = Field(
        default=0, ge=0, le=MAX_ID, description="Return only items whose id is greater than this."
    )


PageQuery = Annotated[Page, Query()]


def keyset(statement: Statement, id_column: InstrumentedAttribute[int]) -> Statement:
    """The page query: rows after ``:after`` in id order, one more than the page holds
    (the look-ahead row tells whether a next page exists, without a COUNT)."""
    return (
        statement.where(id_column > bindparam("after"))
        .order_by(id_column)
        .limit(bindparam("look_ahead_limit"))
    )


def keyset_params(page: Page) -> dict[str, int]:
    return {"after": page.after, "look_ahead_limit": page.limit + 1}


def page_response(rows: Sequence[Mapping[str, Any]], page: Page, request: Request) -> Response:
    """The page (the look-ahead row trimmed) and, if that row existed, a Link header
    pointing at the next page."""
    items = rows[: page.limit]
    headers = None
    if len(rows) > page.limit:
        next_url = request.url.include_query_params(after=items[-1]["id"], limit=page.limit)
        headers = {"Link": f'<{next_url}>; rel="next"'}
    return json_response(records(items), headers=headers)
