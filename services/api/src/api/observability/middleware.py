"""Per request: an id, one access line (as AccessLogPolicy says), and the request metrics.

The outermost layer of the app (api.main wraps FastAPI in it), so it sees every
request, the final status and the whole duration. ``/metrics`` itself is neither
logged nor counted; the health probes are counted but logged only when they fail
(orchestrators call them every few seconds).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability.metrics import DURATION, IN_FLIGHT, REQUESTS
from api.observability.request_ids import HEADER, request_id_of
from api.observability.route_names import route_of
from shared_models.logs import REQUEST_ID, log_line

UNLOGGED = frozenset({"/metrics"})
OTHER_METHOD = "other"
PROBES = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True)
class AccessLogPolicy:
    """Which requests get an access line: none when off; else every refusal and failure
    (status 400 and up) and every request at least ``slow_seconds`` long, and of the rest
    (fast successes) a ``sample`` share, at random. Successful probes never get one."""

    enabled: bool = True
    sample: float = 1.0
    slow_seconds: float = 0.5

    def wants(self, path: str, status: int, seconds: float) -> bool:
        if not self.enabled:
            return False
        if status >= 400 or seconds >= self.slow_seconds:
            return True
        if path in PROBES:
            return False
        # Not a secret, a share of log lines: the fast generator is the right one.
        return self.sample >= 1.0 or random.random() < self.sample  # noqa: S311


class ObserveRequests:
    """``routes``: every route the app serves (api.main keeps them in one flat list), to
    name a request no route has seen yet (a body refused by its size)."""

    def __init__(
        self, app: ASGIApp, routes: Sequence[BaseRoute], access_log: AccessLogPolicy
    ) -> None:
        self.app = app
        self.routes = routes
        # The method label takes these, and one value for any other: a client cannot
        # grow the metrics by inventing methods (PROPFIND, PURGE, ...).
        self.methods = frozenset(
            method for route in routes for method in getattr(route, "methods", None) or ()
        )
        self.access_log_policy = access_log
        # Rendered in one step, not through logging's records or structlog's chain: it is
        # written once per request (shared_models.logs.JsonLineLogger).
        self.access_log = log_line("api.access")
        # Label children looked up once per (method, route, status), not per request.
        self.children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLOGGED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")  # before a mount changes it
        request_id = request_id_of(scope["headers"])
        token = REQUEST_ID.set(request_id)
        id_header = (HEADER, request_id.encode("ascii"))
        status = 500  # what the client gets if the app fails before answering
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette has answered 500 and the app's error handler logged the exception
            # once, with this request's id; re-raising would make the server log it again.
            if not answered:
                raise
        finally:
            IN_FLIGHT.dec()
            self.record(scope, root_path, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def record(self, scope: Scope, root_path: str, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in self.methods else OTHER_METHOD
        route = route_of(scope, self.routes, root_path)
        key = (method, route, status)
        children = self.children.get(key)
        if children is None:
            labels = {"method": method, "route": route, "status": str(status)}
            children = self.children[key] = (REQUESTS.labels(**labels), DURATION.labels(**labels))
        children[0].inc()
        children[1].observe(seconds)
        if not self.access_log_policy.wants(scope["path"], status, seconds):
            return
        client = scope.get("client")
        self.access_log.info(
            f"{method} {route} {status}",
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            client=client[0] if client else None,
        )
