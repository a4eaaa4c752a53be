"""Refuses request bodies over a size limit with a JSON 413 and ``Connection: close``,
without reading them whole. (FastAPI's own ``max_body_size`` answers in text/plain, and
the API promises JSON for every error.)"""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import error


class BodyTooLargeError(HTTPException):
    # An HTTPException, so FastAPI's body parsing re-raises it instead of answering 400.
    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_body_bytes} bytes")


class BodySizeLimitMiddleware:
    """Pure ASGI: checks Content-Length up front, counts chunked bodies as they arrive."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self.too_large(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            # The server stops reading at Content-Length, so the body cannot exceed what
            # was declared (or is empty): nothing to count, no wrapping on the hot path.
            await self.app(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
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
        except BodyTooLargeError:
            if response_started:
                raise
            await self.too_large(scope, receive, send)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await too_large_response(BodyTooLargeError(self.max_body_bytes))(scope, receive, send)


def too_large_response(exc: BodyTooLargeError) -> JSONResponse:
    # Connection: close, so the server drops the unread rest instead of reading it.
    return error(413, exc.detail, headers={"Connection": "close"})


async def on_body_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLargeError)
    return too_large_response(exc)


def install_body_limit(app: FastAPI, max_body_bytes: int) -> None:
    """The limit on ``app``: up front on a declared length, and while a chunked body is
    read (the route's body parsing then raises, answered here the same way)."""
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=max_body_bytes)
    app.add_exception_handler(BodyTooLargeError, on_body_too_large)
