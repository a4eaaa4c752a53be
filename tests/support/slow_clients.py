"""Slow clients: connections that send a request's headers a byte at a time.

Run as its own process (``python -m tests.support.slow_clients PORT COUNT SECONDS``), so
its event loop does not share a GIL with the load that measures the normal clients.
Each connection sends one byte every ``INTERVAL`` seconds and never finishes its headers;
after ``SECONDS`` every connection is closed. Prints one JSON line: how many connected,
were refused, and were closed by the server before the end.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

INTERVAL = 0.5
# Never completes: the header block has no blank line, and a server with a header
# timeout would close the connection long before this runs out.
HEADERS = b"GET /users HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 4096


async def slow_client(port: int, until: float, counts: dict[str, int]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        counts["refused"] += 1
        return
    counts["connected"] += 1
    try:
        for byte in HEADERS:
            if time.monotonic() >= until:
                return
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(INTERVAL)
            if reader.at_eof():
                counts["closed_by_server"] += 1
                return
    except OSError:
        counts["closed_by_server"] += 1
    finally:
        writer.close()


async def main(port: int, count: int, seconds: float) -> dict[str, int]:
    counts = {"connected": 0, "refused": 0, "closed_by_server": 0}
    until = time.monotonic() + seconds
    await asyncio.gather(*(slow_client(port, until, counts) for _ in range(count)))
    return counts


if __name__ == "__main__":
    port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(asyncio.run(main(port, count, seconds))), flush=True)
