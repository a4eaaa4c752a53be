"""Who the client is, and the scheme it came by, from X-Forwarded-For and
X-Forwarded-Proto, believed only from TRUSTED_PROXIES: addresses, networks, or host
names (compose's ``proxy``), which are looked up again every few seconds, so the proxy is
known by its name wherever Docker puts it, and no subnet (which holds the host's gateway,
and with it every client the host forwards) needs to be trusted."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("api")

REFRESH_SECONDS = 5.0
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parsed(trusted: Sequence[str]) -> tuple[list[Network], list[str]]:
    """The networks (an address is a network of one) and the names to look up."""
    networks: list[Network] = []
    names: list[str] = []
    for entry in filter(None, (item.strip() for item in trusted)):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.append(entry)
    return networks, names


class ForwardedByProxy:
    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.networks, self.names = parsed(trusted)
        self.addresses: frozenset[str] = frozenset()
        self.looked_up = 0.0  # monotonic time of the last lookup's start; 0: never
        self.lookup: asyncio.Future[None] | None = None

    async def look_up(self) -> None:
        loop = asyncio.get_running_loop()
        found: set[str] = set()
        for name in self.names:
            try:
                answers = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            except OSError as exc:
                log.warning("forwarded headers: %s does not resolve (%s)", name, exc)
                continue
            found.update(str(answer[4][0]) for answer in answers)
        self.addresses = frozenset(found) if found else self.addresses

    async def names_looked_up(self) -> None:
        """One lookup every REFRESH_SECONDS at most, shared: the requests arriving while
        it runs wait for it (never a first request judged before the names are known)."""
        if time.monotonic() - self.looked_up > REFRESH_SECONDS:
            self.looked_up = time.monotonic()
            self.lookup = asyncio.ensure_future(self.look_up())
        if self.lookup is not None and not self.lookup.done():
            await asyncio.shield(self.lookup)  # a request cancelled does not cancel it

    def believed(self, address: str) -> bool:
        if address in self.addresses:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            if self.names:
                await self.names_looked_up()
            if self.believed(scope["client"][0]):
                scope = self.as_forwarded(scope)
        await self.app(scope, receive, send)

    @staticmethod
    def as_forwarded(scope: Scope) -> Scope:
        forwarded = dict(scope)
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                # The proxy's own is last (it drops what a client claims); a port is unknown.
                client = value.decode("latin-1").rsplit(",", 1)[-1].strip()
                if client:
                    forwarded["client"] = (client, 0)
            elif name == b"x-forwarded-proto" and value in (b"http", b"https"):
                forwarded["scheme"] = value.decode("ascii")
        return forwarded
