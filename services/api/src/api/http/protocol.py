"""uvicorn's HTTP protocol as the API serves it: every response in one write
(api.http.one_write), and a request uvicorn refuses before the app sees it (a header
value with a control character, a malformed request line) answered in the API's JSON.
uvicorn is pinned below its next minor release, and the tests hold it to both."""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api.http.one_write import CoalescingTransport

INVALID_REQUEST = b'{"detail":"invalid HTTP request"}'


class ApiProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # (uvloop's transports are not asyncio.Transport subclasses, only alike: the
        # methods forwarded are the interface both have.)
        super().connection_made(CoalescingTransport(transport, self.loop))

    def send_400_response(self, msg: str) -> None:
        """uvicorn's own 400, with the API's body: its message is logged, not sent."""
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(INVALID_REQUEST),
                b"connection: close\r\n\r\n",
                INVALID_REQUEST,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
