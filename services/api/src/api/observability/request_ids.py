"""Every request has an id: the incoming ``X-Request-ID`` when it is sane (1-128 safe
characters), else a new one. It is returned as ``X-Request-ID`` and is on every log
line written while the request runs (shared_models.logs.REQUEST_ID)."""

from __future__ import annotations

import re
import uuid

SANE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:@/+=-]{1,128}$")
HEADER = b"x-request-id"


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == HEADER and SANE_REQUEST_ID.match(value):
            return value.decode("ascii")
    return uuid.uuid4().hex
