"""One write per response (api.one_write): uvicorn's own protocol, on both event loops
the workers may run (asyncio's and uvloop's), writing to a transport that records what
reaches it; and on real sockets: a keep-alive connection, and a client that stops
reading (flow control must still stop the app)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvloop
from uvicorn.config import Config
from uvicorn.importer import import_from_string
from uvicorn.server import ServerState

from api.http.one_write import MAX_HELD_BYTES, CoalescingTransport
from api.http.protocol import ApiProtocol
from harness.processes import service_env

REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
T = TypeVar("T")
Run = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run[Any]:
    """Runs a coroutine on a new event loop of that kind (uvicorn uses uvloop when it
    is installed, as in the images)."""
    factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def on_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coroutine)

    return on_loop


class RecordingTransport:
    """The parts of a transport uvicorn's protocol uses; keeps every write it gets."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def coalescing_over(transport: RecordingTransport) -> CoalescingTransport:
    return CoalescingTransport(transport, asyncio.get_running_loop())  # type: ignore[arg-type]


def app_answering(*bodies: bytes) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        length = str(sum(map(len, bodies))).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", length)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for index, body in enumerate(bodies):
            more = index < len(bodies) - 1
            await send({"type": "http.response.body", "body": body, "more_body": more})

    return app


async def serve(app: Any, requests: int = 1) -> list[list[bytes]]:
    """``requests`` requests one after the other on one keep-alive connection: the
    writes that reached the transport for each."""
    config = Config(app, http=ApiProtocol, lifespan="off", access_log=False)
    config.load()
    protocol = ApiProtocol(config, ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    writes = []
    for _ in range(requests):
        before = len(transport.writes)
        protocol.data_received(REQUEST)
        for _ in range(20):  # the app's task, then the turn that writes what it sent
            await asyncio.sleep(0)
        writes.append(transport.writes[before:])
    protocol.connection_lost(None)
    return writes


async def serve_one(app: Any) -> RecordingTransport:
    transport = RecordingTransport()
    transport.writes = (await serve(app))[0]
    return transport


def test_head_and_body_go_out_in_one_write(run: Run[Any]) -> None:
    transport = run(serve_one(app_answering(b'{"id": 1}')))
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == b'{"id": 1}'


def test_a_body_sent_in_parts_in_one_turn_is_still_one_write(run: Run[Any]) -> None:
    transport = run(serve_one(app_answering(b"[1,", b"2,", b"3]")))
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b"\r\n\r\n[1,2,3]")


def test_a_body_part_larger_than_what_is_held_goes_out_after_its_status_line(run: Run[Any]) -> None:
    large = b"x" * (MAX_HELD_BYTES + 1)
    transport = run(serve_one(app_answering(large)))
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK")
    assert b"".join(transport.writes).endswith(b"\r\n\r\n" + large)


def test_responses_after_a_large_one_are_still_one_write_each(run: Run[Any]) -> None:
    large = b"x" * (3 * MAX_HELD_BYTES)
    answers = [large, b'{"id": 1}', b'{"id": 2}']

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app_answering(answers.pop(0))(scope, receive, send)

    first, *small = run(serve(app, requests=3))
    assert b"".join(first).endswith(large)
    assert [len(writes) for writes in small] == [1, 1]
    assert small[1][0].endswith(b'{"id": 2}')


def test_large_bodies_are_written_without_waiting_for_the_turn(run: Run[Any]) -> None:
    async def scenario() -> tuple[int, int]:
        transport = RecordingTransport()
        coalescing = coalescing_over(transport)
        coalescing.write(b"head")
        coalescing.write(b"x" * MAX_HELD_BYTES)  # past the limit: out now, with the head
        written_at_once = len(transport.writes)
        await asyncio.sleep(0)
        return written_at_once, len(transport.writes[0])

    written_at_once, size = run(scenario())
    assert written_at_once == 1
    assert size == len(b"head") + MAX_HELD_BYTES


def test_closing_writes_what_is_held_first_and_nothing_after(run: Run[Any]) -> None:
    async def scenario() -> RecordingTransport:
        transport = RecordingTransport()
        coalescing = coalescing_over(transport)
        coalescing.write(b"last words")
        coalescing.close()
        await asyncio.sleep(0)  # the turn's own flush finds nothing left
        return transport

    transport = run(scenario())
    assert transport.writes == [b"last words"]
    assert transport.closed


def test_what_is_written_after_close_is_dropped_not_written_to_a_closed_transport(
    run: Run[Any],
) -> None:
    async def scenario() -> RecordingTransport:
        transport = RecordingTransport()
        coalescing = coalescing_over(transport)
        coalescing.close()
        coalescing.writelines([b"too ", b"late"])
        await asyncio.sleep(0)
        return transport

    assert run(scenario()).writes == []


def test_gunicorn_workers_serve_with_the_one_write_protocol(tmp_path: Path) -> None:
    # The configuration module as gunicorn loads it (in a child: it configures the process).
    code = "from api.gunicorn_conf import Worker; print(Worker.CONFIG_KWARGS['http'])"
    env = service_env(None, API_DB_PASSWORD="unused", METRICS_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert import_from_string(result.stdout.strip()) is ApiProtocol


async def real_server(app: Any) -> tuple[asyncio.Server, int]:
    config = Config(app, http=ApiProtocol, lifespan="off", access_log=False)
    config.load()
    state = ServerState()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ApiProtocol(config, state, app_state={}), "127.0.0.1", 0
    )
    return server, server.sockets[0].getsockname()[1]


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head, await reader.readexactly(length)


def test_a_keep_alive_connection_gets_each_answer_whole_and_in_order(run: Run[Any]) -> None:
    answers = [b"x" * (2 * MAX_HELD_BYTES), b'{"id": 1}', b'{"id": 2}']

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app_answering(answers.pop(0))(scope, receive, send)

    async def scenario() -> list[bytes]:
        server, port = await real_server(app)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        bodies = []
        for _ in range(3):
            writer.write(REQUEST)
            head, body = await read_response(reader)
            assert head.startswith(b"HTTP/1.1 200 OK"), head
            bodies.append(body)
        writer.close()
        server.close()
        await server.wait_closed()
        return bodies

    assert run(scenario()) == [b"x" * (2 * MAX_HELD_BYTES), b'{"id": 1}', b'{"id": 2}']


def test_a_client_that_stops_reading_stops_the_app_and_then_gets_every_byte(
    run: Run[Any],
) -> None:
    chunk, chunks = b"y" * MAX_HELD_BYTES, 512  # 32 MiB: past any socket buffer
    sent: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        length = str(len(chunk) * chunks).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", length)]})  # fmt: skip
        for index in range(chunks):
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": index < chunks - 1})  # fmt: skip
            sent.append(index)

    async def scenario() -> tuple[int, int]:
        server, port = await real_server(app)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        await asyncio.sleep(0.5)  # not reading: the socket buffers fill, writing pauses
        sent_while_stalled = len(sent)
        _, body = await read_response(reader)
        writer.close()
        server.close()
        await server.wait_closed()
        return sent_while_stalled, len(body)

    sent_while_stalled, received = run(scenario())
    assert sent_while_stalled < chunks / 2, "flow control did not stop the app"
    assert received == len(chunk) * chunks
