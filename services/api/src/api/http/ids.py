"""The integers in paths and query strings: ids, and the paging numbers.

Written as plain decimal digits and nothing else: pydantic's lax mode would also take
``1.0``, ``+1``, ``01``, ``1_000`` and a fullwidth one (U+FF11) for 1, so ``DELETE /posts/1.0``
deleted post 1. Ids are positive and fit the bigint columns.
"""

import re
from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator, Field

MAX_ID = 2**63 - 1  # the id columns are PostgreSQL bigints

DECIMAL = re.compile(r"0|[1-9][0-9]*")  # ASCII digits: str.isdigit takes U+FF11 too


def decimal_digits(value: Any) -> Any:
    if isinstance(value, str) and not DECIMAL.fullmatch(value):
        raise ValueError("must be plain decimal digits (no sign, point, separator or leading 0)")
    return value


Digits = BeforeValidator(decimal_digits)

# The constraints before the validator: after it, pydantic cannot show them as the
# document's minimum and maximum.
UserId = Annotated[int, Path(gt=0, le=MAX_ID, description="The user's id."), Digits]
PostId = Annotated[int, Path(gt=0, le=MAX_ID, description="The post's id."), Digits]
AuthorId = Annotated[int, Field(gt=0, le=MAX_ID), Digits]
