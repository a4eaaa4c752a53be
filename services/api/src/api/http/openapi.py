"""What the OpenAPI document says beyond the routes' own signatures: operation ids, and
the error answers each route can give."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from api.http.schemas import ErrorOut


def operation_id(route: APIRoute) -> str:
    """The operation's id is its function's name: ``get_user``, not FastAPI's automatic
    ``get_user_users__user_id__get``, so it stays put when a path changes.

    The tag groups the operations (openapi-python-client makes it the module,
    ``api.users.get_user``), so the id leaves it out: generators do not strip a
    ``users-`` prefix, and ``users.users_get_user`` only stutters. Ids must be unique
    across the document, so function names must be unique across the routers;
    tests/api/http/test_openapi.py checks both.
    """
    return route.name


ERROR_DESCRIPTIONS = {
    401: "No bearer token, or an invalid, expired or superseded one (WWW-Authenticate: Bearer)",
    403: "The resource belongs to another user",
    404: "Not found",
    409: "Conflict with an existing resource",
    413: "Request body too large, or the account's posts would pass its stored bytes",
    429: "Too many failed logins to this account from this address, or too many writes "
    "by this account; retry after the Retry-After seconds",
    503: "Database unavailable, too slow, or its schema is behind the API; "
    "retry after the Retry-After seconds",
}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes a route can answer with."""
    responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes
    }
    for code in {429, 503} & responses.keys():
        responses[code]["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        }
    return responses
