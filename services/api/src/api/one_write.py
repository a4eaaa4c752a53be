"""One write per response: uvicorn's HTTP protocol with its writes coalesced.

uvicorn writes a response's head when the app sends ``http.response.start`` and its
body when the app sends ``http.response.body``: two ``send`` system calls and two TCP
segments per response and, behind Docker's published port, two reads and two writes
more in ``docker-proxy``. The app sends both in the same turn of the event loop, so
the bytes written during a turn are held and written together when the turn ends
(microseconds later): every small response is one write (bench/README.md, "What
bought what"). The protocol is otherwise uvicorn's own, unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Past this, held bytes are written at once: the real transport then sees a large
# body as it comes, and its flow control (pause_writing) still stops a fast producer.
MAX_HELD_BYTES = 64 * 1024


class CoalescingTransport:
    """A transport whose writes wait for the end of the event loop's turn, then go out
    as one ``write``. Closing writes what is held first; everything else (flow control,
    addresses, ``is_closing``, ``abort``) is the real transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.held: list[bytes] = []
        self.held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.held:
            self.loop.call_soon(self.flush)
        self.held.append(bytes(data))
        self.held_bytes += len(data)
        if self.held_bytes > MAX_HELD_BYTES:
            self.flush()

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if not self.held:
            return  # already written: by close(), or past MAX_HELD_BYTES
        data = b"".join(self.held)  # (a single part comes back as it is, not copied)
        self.held.clear()
        self.held_bytes = 0
        if not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
