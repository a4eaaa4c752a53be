"""Only the host names the API is published under reach it (PUBLIC_HOSTS).

The API writes absolute URLs from the request's Host (a page's Link, a redirect to the
path with a slash): an attacker's Host would come back in them, and an invalid one would
show the container's own address. So a request for any other host is a 400, in JSON,
before anything else runs. The health probes and /metrics are exempt: an orchestrator
or Prometheus calls them by the container's address and they write no URL.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.errors import error

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
UNKNOWN_HOST = "unknown host: this API answers to the names in PUBLIC_HOSTS"


def host_name(host: bytes) -> str:
    """``example.com:8000`` -> ``example.com``; ``[::1]:8000`` -> ``::1``."""
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


def allowed(name: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class PublicHostsMiddleware:
    def __init__(self, app: ASGIApp, public_hosts: Sequence[str]) -> None:
        self.app = app
        self.public_hosts = tuple(public_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in EXEMPT:
            host = next((value for name, value in scope["headers"] if name == b"host"), b"")
            if not allowed(host_name(host), self.public_hosts):
                await error(400, UNKNOWN_HOST)(scope, receive, send)
                return
        await self.app(scope, receive, send)
