"""The name a request is logged and counted under: its route's template
(``/users/{user_id}``), never the raw path, so the access lines and the metrics'
labels stay few and free of ids."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

UNMATCHED = "unmatched"  # one label for every path no route serves: no cardinality blow-up


def route_of(scope: Scope, routes: Sequence[BaseRoute], root_path: str) -> str:
    """The template of the route that served the request. FastAPI records its own
    routes in the scope, not plain ones (/openapi.json, /docs, the docs' assets), so
    those are matched again here, on the scope as it came in (a mount has since moved
    its root_path); only a path no route serves is "unmatched"."""
    route = scope.get("route")
    if route is None:
        arrived = {**scope, "root_path": root_path}
        route = next((r for r in routes if r.matches(arrived)[0] is Match.FULL), None)
    return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
