"""Paging, the same on every list: ``?limit=`` and ``?after=<id>``, and a Link header
(RFC 8288) to the next page. The body stays a plain JSON array, as the tutorial's;
the SQL side is api.db.keyset."""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from api.db.keyset import FETCHED, keyset_params
from api.http.ids import MAX_ID, Digits
from api.http.responses import json_response

MAX_LIMIT = 100

NEXT_LINK_HEADER = {
    "Link": {
        "description": 'RFC 8288 link to the next page (rel="next"); absent on the last page',
        "schema": {"type": "string"},
    }
}


class Page(BaseModel):
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT), Digits] = Field(
        default=50, description=f"Items per page (1-{MAX_LIMIT})."
    )
    after: Annotated[int, Field(ge=0, le=MAX_ID), Digits] = Field(
        default=0, description="Return only items whose id is greater than this."
    )

    def params(self) -> dict[str, int]:
        """The keyset statement's parameters for this page."""
        return keyset_params(self.after, self.limit)


PageQuery = Annotated[Page, Query()]


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
