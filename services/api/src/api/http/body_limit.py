"""A request body's limits: at most MAX_BODY_BYTES (413), arrived whole within
MAX_BODY_SECONDS of the request (408), each a JSON answer with ``Connection: close``,
the unread rest never read. (FastAPI's own ``max_body_size`` answers in text/plain, and
the API promises JSON for every error.) A client dribbling a body holds an api slot for
MAX_BODY_SECONDS at most."""

import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import error


class BodyRefusedError(HTTPException):
    """An HTTPException, so FastAPI's body parsing re-raises it instead of answering 400."""


class BodyTooLargeError(BodyRefusedError):
    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_body_bytes} bytes")


class BodyTooSlowError(BodyRefusedError):
    def __init__(self, max_body_seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {max_body_seconds:g} s")


class BodyLimitsMiddleware:
    """Pure ASGI: checks Content-Length up front, counts chunked bodies as they arrive,
    and gives every read of a body the time left of the request's budget."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_body_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_body_seconds = max_body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await refused(BodyTooLargeError(self.max_body_bytes))(scope, receive, send)
            return
        if not chunked and declared in (None, b"0"):
            await self.app(scope, receive, send)  # no body: nothing to wait for or count
            return

        deadline = asyncio.get_running_loop().time() + self.max_body_seconds
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlowError(self.max_body_seconds) from None
            if message["type"] == "http.request" and chunked:
                # Content-Length: the server stops reading there, no more can arrive.
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLargeError(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyRefusedError as exc:
            if response_started:
                raise
            await refused(exc)(scope, receive, send)


def refused(exc: BodyRefusedError) -> JSONResponse:
    # Connection: close, so the server drops the unread rest instead of reading it.
    return error(exc.status_code, exc.detail, headers={"Connection": "close"})


async def on_body_refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyRefusedError)
    return refused(exc)


def install_body_limits(app: FastAPI, max_body_bytes: int, max_body_seconds: float) -> None:
    """The limits on ``app``: up front on a declared length, and while a body is read (the
    route's body parsing then raises, answered here the same way)."""
    app.add_middleware(
        BodyLimitsMiddleware, max_body_bytes=max_body_bytes, max_body_seconds=max_body_seconds
    )
    app.add_exception_handler(BodyRefusedError, on_body_refused)
