"""Request bodies parsed as strict JSON, within a budget. orjson refuses what no column or
encoder can take (NaN, Infinity, 1e400, lone surrogates, nesting past 1,024 levels); a
key given twice in an object, more keys than the body's schema has fields, or more than
MAX_OBJECTS objects is a 422 before pydantic validates anything (docs/security.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import Receive, Scope


class InvalidBodyError(HTTPException):
    """A 422 in the shape of every other (``detail``: a list of ``loc``, ``msg``, ``type``),
    raised while the body is read: FastAPI passes an HTTPException through."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(422, [{"loc": ["body"], "msg": message, "type": kind}])


# Each object costs the duplicate check a call in Python: their number is bounded.
MAX_OBJECTS = 1000


def duplicate_key_check() -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A json object_pairs_hook refusing an object with a key twice, or one object past
    MAX_OBJECTS (which stops the parse there)."""
    objects = 0

    def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal objects
        objects += 1
        if objects > MAX_OBJECTS:
            raise InvalidBodyError("too_many_objects", f"at most {MAX_OBJECTS} objects")
        unique = dict(pairs)
        if len(unique) != len(pairs):
            raise InvalidBodyError("duplicate_key", "an object gives the same key twice")
        return unique

    return refuse_duplicate_keys


def field_count(route: APIRoute) -> int | None:
    """How many keys the route's body may have: its schema's fields, when the schema
    refuses unknown ones; None (no budget) otherwise."""
    body = route.body_field
    schema = body.field_info.annotation if body is not None else None
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return None
    return len(schema.model_fields) if schema.model_config.get("extra") == "forbid" else None


class StrictJsonRequest(Request):
    def __init__(self, scope: Scope, receive: Receive, max_keys: int | None) -> None:
        super().__init__(scope, receive)
        self.max_keys = max_keys

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            parsed = orjson.loads(body)
            if isinstance(parsed, dict) and len(parsed) > (self.max_keys or len(parsed)):
                raise InvalidBodyError(
                    "too_many_keys", f"at most {self.max_keys} keys: this body has more"
                )
            if isinstance(parsed, dict | list):
                # orjson keeps the last of two equal keys; the standard library can tell.
                try:
                    json.loads(body, object_pairs_hook=duplicate_key_check())
                except RecursionError:  # its limit is below orjson's 1,024 levels
                    raise InvalidBodyError("too_deep", "nested too deeply") from None
            self._json = parsed
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose request body is read by StrictJsonRequest (FastAPI's documented way
    to change how a route reads its request)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        max_keys = field_count(self)

        async def handle_strictly(request: Request) -> Response:
            return await handle(StrictJsonRequest(request.scope, request.receive, max_keys))

        return handle_strictly
