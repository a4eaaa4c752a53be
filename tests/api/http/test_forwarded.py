"""api.http.forwarded on its own: which clients are believed, and the proxy's name looked
up once for requests arriving together, none judged before it is known. (Over HTTP,
through gunicorn: tests/api/test_gunicorn_conf.py; through the proxy:
tests/faults/test_door.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.forwarded import ForwardedByProxy


def noting_clients(seen: list[str]) -> ASGIApp:
    """The app behind the middleware: it notes in ``seen`` the client each request came from."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"][0])

    return app


def test_requests_arriving_together_wait_for_the_first_lookup() -> None:
    seen: list[str] = []
    forwarded = ForwardedByProxy(noting_clients(seen), ["localhost"])
    lookups = 0
    look_up = forwarded.look_up

    async def counted_look_up() -> None:
        nonlocal lookups
        lookups += 1
        await look_up()

    forwarded.look_up = counted_look_up  # type: ignore[method-assign]
    scope: dict[str, Any] = {
        "type": "http",
        "client": ("127.0.0.1", 50000),
        "headers": [(b"x-forwarded-for", b"203.0.113.9")],
    }

    async def together() -> None:
        await asyncio.gather(*(forwarded(dict(scope), None, None) for _ in range(20)))  # type: ignore[arg-type]

    asyncio.run(together())
    assert seen == ["203.0.113.9"] * 20
    assert lookups == 1


@pytest.mark.parametrize(
    ("trusted", "believed"),
    [
        ("127.0.0.1", True),
        ("127.0.0.0/8", True),
        ("localhost", True),
        ("proxy, 127.0.0.1", True),
        ("192.0.2.1", False),
        ("127.0.0.2, 10.0.0.0/8", False),
        ("", False),
    ],
)
def test_a_client_is_believed_by_its_address_network_or_name(trusted: str, believed: bool) -> None:
    seen: list[str] = []
    forwarded = ForwardedByProxy(noting_clients(seen), trusted.split(","))
    scope = {
        "type": "http",
        "client": ("127.0.0.1", 50000),
        "headers": [(b"x-forwarded-for", b"203.0.113.9")],
    }
    asyncio.run(forwarded(scope, None, None))  # type: ignore[arg-type]
    assert seen == ["203.0.113.9" if believed else "127.0.0.1"]
