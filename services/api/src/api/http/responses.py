"""JSON bodies straight from the database's rows, without a pydantic round trip.

The routes still declare their response models, so the OpenAPI document is what it
was; the models just are not run per request (schemathesis checks every body against
the document instead). orjson writes datetimes as pydantic did ("...Z").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import orjson
from fastapi import HTTPException, Response, status

Found = TypeVar("Found")


def found(row: Found | None, what: str) -> Found:
    """The row, or a 404 saying what was not found."""
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")
    return row


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


def row_response(row: Mapping[str, Any] | None, what: str, status_code: int = 200) -> Response:
    """The row as the body, or a 404 saying what was not found."""
    return json_response(dict(found(row, what)), status_code)
