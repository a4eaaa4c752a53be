"""Request bodies parsed as strict JSON, by orjson.

Python's json module, which Starlette's ``Request.json`` uses, accepts ``NaN``,
``Infinity`` and ``1e400`` (a float infinity), strings with lone surrogates
(``"\\ud800"``), which no database column and no JSON encoder can take, and recurses
until the interpreter's own limit. orjson refuses all of them as malformed JSON (nesting
past 1,024 levels too), and FastAPI answers its JSONDecodeError with a 422 like any
other malformed body: every body the routes see is JSON that can be stored and echoed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose request body is read by StrictJsonRequest (FastAPI's documented way
    to change how a route reads its request)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_strictly(request: Request) -> Response:
            return await handle(StrictJsonRequest(request.scope, request.receive))

        return handle_strictly
