"""One write per response: uvicorn's HTTP protocol, its writes during one turn of the
event loop held and written together. uvicorn writes a response's head and body with
two ``send`` calls (and, behind Docker's published port, docker-proxy then reads and
writes twice); the app sends both in one turn, so each small response becomes one write.
The protocol is otherwise uvicorn's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

# Past this, held bytes are written at once: the real transport then sees a large
# body as it comes, and its flow control (pause_writing) still stops a fast producer.
MAX_HELD_BYTES = 64 * 1024


class CoalescingTransport(asyncio.Transport):
    """A transport whose writes wait for the end of the event loop's turn, then go out
    as one ``write``. Closing writes what is held first.

    Everything else is the real transport's, forwarded method by method: asyncio's
    Transport interface, no more, so a uvicorn that starts calling something else fails
    loudly in the tests instead of silently bypassing the held bytes (uvicorn is pinned
    below its next minor release for the same reason)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.transport = transport
        self.loop = loop
        self.held: list[bytes] = []
        self.held_bytes = 0

    # Writing: held until the turn ends (or past MAX_HELD_BYTES), then one write.

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.held:
            self.loop.call_soon(self.flush)
        self.held.append(bytes(data))
        self.held_bytes += len(data)
        if self.held_bytes > MAX_HELD_BYTES:
            self.flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
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

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        self.held.clear()  # abort loses what is buffered, by definition
        self.held_bytes = 0
        self.transport.abort()

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + self.held_bytes

    # The rest of asyncio.Transport: the real transport's.

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.transport.get_protocol()

    def is_reading(self) -> bool:
        return self.transport.is_reading()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.transport.get_write_buffer_limits()

    def can_write_eof(self) -> bool:
        return self.transport.can_write_eof()
