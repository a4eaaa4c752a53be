"""Only the host names the API is published under reach it (PUBLIC_HOSTS).

The API writes absolute URLs from the request's Host (a page's Link, a redirect to the
path with a slash): an attacker's Host would come back in them, and an invalid one would
show the container's own address. So a request for any other host is a 400, in JSON,
before anything else runs. The health probes and /metrics are exempt: an orchestrator
or Prometheus calls them by the container's address and they write no URL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.errors import error

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
UNKNOWN_HOST = "unknown host: this API answers to the names in PUBLIC_HOSTS"
INVALID_HOST = "invalid Host header: a host name or address, and a port, and nothing else"


# RFC 3986's host and port, as Host carries them: a DNS name (or IPv4 address), or an
# IPv6 address in brackets; a port of up to five digits. Nothing else: no user info, no
# path, no spaces. What passes is what Starlette then writes its URLs from.
HOST = re.compile(
    r"(?P<name>[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?|\[(?P<ip6>[0-9a-f:.]+)\])"
    r"(:(?P<port>[0-9]{1,5}))?"
)
MAX_NAME = 253


def host_name(host: bytes) -> str | None:
    """The name a Host header gives, lowercased (``[::1]:8000`` -> ``::1``), or None when
    it is no well-formed host and port."""
    text = host.decode("latin-1").lower()
    match = HOST.fullmatch(text)
    if match is None or (match["port"] and int(match["port"]) > 65535):
        return None
    if match["ip6"] is not None:
        try:
            return str(ipaddress.IPv6Address(match["ip6"]))
        except ValueError:
            return None
    name = match["name"].removesuffix(".")
    return name if len(name) <= MAX_NAME else None


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
            name = host_name(host)
            if name is None or not allowed(name, self.public_hosts):
                await error(400, UNKNOWN_HOST if name else INVALID_HOST)(scope, receive, send)
                return
        await self.app(scope, receive, send)
