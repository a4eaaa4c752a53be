"""Hostile clients, each mode a process of its own (its event loop shares no GIL with the
load that measures the ordinary clients), run from a client host of the test's
(tests.support.netns): ``python -m tests.support.attackers [--tls] MODE HOST PORT [ARGS...]``,
``--tls`` for the HTTPS port (any certificate: an attacker checks none). The modes:
``main``."""

from __future__ import annotations

import asyncio
import json
import secrets
import select
import socket
import ssl
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

CHUNK = b"a" * 65536
SLOW_INTERVAL = 0.5
SLOW_HEADERS = b"GET /users HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 4096


# The HTTPS port's context when --tls is given, else None: every connection is made by
# connect(), so each mode attacks either door.
TLS: ssl.SSLContext | None = None


def any_certificate() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


async def connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port, ssl=TLS)


async def status_line(reader: asyncio.StreamReader, within: float) -> bytes:
    try:
        return await asyncio.wait_for(reader.readline(), within)
    except OSError:
        # A reset that followed the answer: the stream raises it ahead of the line it had
        # already read, which the server did send.
        line, newline, _ = bytes(getattr(reader, "_buffer", b"")).partition(b"\n")
        return line + newline if newline else b""
    except (TimeoutError, asyncio.IncompleteReadError):
        return b""


def answered(reader: asyncio.StreamReader) -> bool:
    """Whether the server has sent anything yet (without waiting for it)."""
    return bool(getattr(reader, "_buffer", b""))


def unread_in_kernel(writer: asyncio.StreamWriter) -> bool:
    """Whether the server's bytes wait in the kernel for the event loop to read them. A
    byte written then crosses the answer and the close behind it; the reset it draws ends
    the stream before the loop reads the answer, which the server did send."""
    readable, _, _ = select.select([writer.get_extra_info("socket")], [], [], 0)
    return bool(readable)


async def huge_header(host: str, port: int, mib: int) -> dict[str, Any]:
    started = time.monotonic()
    reader, writer = await connect(host, port)
    sent = 0
    answer = b""
    writer.write(b"GET /users HTTP/1.1\r\nHost: localhost\r\nX-Huge: ")
    try:
        while sent < mib * 1024 * 1024:
            writer.write(CHUNK)
            await writer.drain()
            sent += len(CHUNK)
            # A transport closing: stop (over TLS, what is written may only be buffered).
            if reader.at_eof() or answered(reader) or writer.transport.is_closing():
                break
    except OSError:
        pass
    answer = await status_line(reader, 5)
    writer.close()
    return {"sent": sent, "answer": answer.decode(errors="replace").strip(),
            "seconds": round(time.monotonic() - started, 3)}  # fmt: skip


async def slow_client(host: str, port: int, hold: float, counts: Counter[str]) -> float | None:
    """Seconds until the server closed the connection, or None if it did not within `hold`
    seconds of connecting (counted from the connection, not the process: under load the
    last of thousands of connections opens seconds after the first)."""
    try:
        reader, writer = await connect(host, port)
    except OSError:
        counts["refused"] += 1
        return None
    counts["connected"] += 1
    opened = time.monotonic()
    until = opened + hold
    try:
        for byte in SLOW_HEADERS:
            if time.monotonic() >= until:
                return None
            if unread_in_kernel(writer):
                await asyncio.sleep(0)  # the loop reads it, and the check below sees it
            else:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(SLOW_INTERVAL)
            if reader.at_eof() or answered(reader):
                counts["closed_by_server"] += 1
                answer = await status_line(reader, 1)
                counts[f"answered {answer[9:12].decode(errors='replace') or 'nothing'}"] += 1
                return time.monotonic() - opened
    except OSError:
        # The server's 408 and close crossed a byte of ours: the kernel's reset drops the
        # answer we had not read yet.
        counts["closed_by_server"] += 1
        counts["reset"] += 1
        return time.monotonic() - opened
    finally:
        writer.close()
    return None


async def one_flood_request(host: str, port: int, counts: Counter[str]) -> None:
    try:
        reader, writer = await asyncio.wait_for(connect(host, port), 5)
    except (OSError, TimeoutError):
        counts["refused"] += 1
        return
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await status_line(reader, 5)
        counts[f"answered {answer[9:12].decode()}" if answer else "closed unanswered"] += 1
    except OSError:
        counts["closed unanswered"] += 1
    finally:
        writer.close()


async def flood(host: str, port: int, seconds: float) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    until = time.monotonic() + seconds
    in_flight: set[asyncio.Task[None]] = set()
    while time.monotonic() < until:
        while len(in_flight) < 200:
            task = asyncio.create_task(one_flood_request(host, port, counts))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.sleep(0)
    await asyncio.gather(*in_flight)
    return {"attempts": sum(counts.values()), **counts}


def answer(head: bytes, started: float) -> dict[str, Any]:
    """A response head's status, whether it said Retry-After, and how long it took."""
    lines = head.decode(errors="replace").split("\r\n")
    headers = {line.split(":", 1)[0].lower() for line in lines[1:] if ":" in line}
    return {"status": lines[0][9:12], "retry_after": "retry-after" in headers,
            "seconds": round(time.monotonic() - started, 3)}  # fmt: skip


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> Any:
    """One request for ``path`` on an open connection, kept open after its answer."""
    started = time.monotonic()
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return {"status": "closed", "seconds": round(time.monotonic() - started, 3)}
    return answer(head, started)


async def hold_one(host: str, port: int, path: str) -> dict[str, Any]:
    try:
        reader, writer = await connect(host, port)
    except OSError:
        return {"status": "refused", "seconds": 0.0}
    try:
        result: dict[str, Any] = await ask(reader, writer, path)
        return result
    finally:
        writer.close()


async def crowd(host: str, port: int, limit: int, hold: float) -> dict[str, Any]:
    """``limit`` connections open, the last of them asking for /healthz; then one more
    asking. Prints both answers at once, then holds every connection for ``hold`` s."""
    opened = [await connect(host, port) for _ in range(limit)]
    at_limit = await ask(*opened[-1], "/healthz")
    opened.append(await connect(host, port))
    past_limit = await ask(*opened[-1], "/healthz")
    print(json.dumps({"at_limit": at_limit, "past_limit": past_limit}), flush=True)
    await asyncio.sleep(hold)
    for _, writer in opened:
        writer.close()
    return {"held_s": hold}


# 100,000 unknown keys in 930 KB, inside every size limit: pydantic once built an error
# for each, 0.6 s of a worker's event loop a body.
MANY_KEYS = b"{" + b",".join(b'"%x":0' % n for n in range(100_000)) + b"}"


async def post_again_and_again(
    host: str, port: int, body: bytes, until: float, counts: Counter[str]
) -> None:
    """One connection posting ``body`` to /users, keep-alive, answer after answer."""
    head = (
        b"POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    try:
        reader, writer = await connect(host, port)
    except OSError:
        counts["refused"] += 1
        return
    try:
        while time.monotonic() < until:
            writer.write(head + body)
            await writer.drain()
            response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            length = next(
                int(line.split(b":")[1]) for line in response.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )  # fmt: skip
            await reader.readexactly(length)
            counts[f"answered {response[9:12].decode()}"] += 1
            if b"connection: close" in response.lower():
                writer.close()
                reader, writer = await connect(host, port)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, StopIteration):
        counts["cut"] += 1
    finally:
        writer.close()


async def keys(host: str, port: int, connections: int, seconds: float) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    until = time.monotonic() + seconds
    await asyncio.gather(
        *(post_again_and_again(host, port, MANY_KEYS, until, counts) for _ in range(connections))
    )
    return {"body_bytes": len(MANY_KEYS), **counts}


async def dribble_one(host: str, port: int, every: float) -> dict[str, Any]:
    """A body larger than the proxy's buffer, its first 20 KiB at once (the proxy passes
    the request to the api), then a byte every ``every`` s: what answered it, and when."""
    started = time.monotonic()
    try:
        reader, writer = await connect(host, port)
    except OSError:
        return {"status": "refused", "seconds": 0.0}
    try:
        writer.write(
            b"POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100000\r\n\r\n{"bio": "' + b"x" * 20_000
        )
        await writer.drain()
        while not answered(reader) and not reader.at_eof():
            await asyncio.sleep(every)
            writer.write(b"x")
            await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return {"status": "closed", "seconds": round(time.monotonic() - started, 3)}
    finally:
        writer.close()
    return answer(head, started)


async def dribble(host: str, port: int, connections: int, every: float) -> dict[str, Any]:
    results = await asyncio.gather(*(dribble_one(host, port, every) for _ in range(connections)))
    return {"requests": list(results)}


# The PROXY protocol's version 2 (HAProxy's proxy-protocol.txt, section 2.2): a fixed
# signature, then PROXY over TCP/IPv4, then the addresses and ports in network order.
PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
PROXY_V2_COMMAND, PROXY_V2_TCP4 = 0x21, 0x11


def proxy_protocol_v2(source: str, source_port: int, destination: str, port: int) -> bytes:
    addresses = socket.inet_aton(source) + socket.inet_aton(destination)
    block = addresses + struct.pack("!HH", source_port, port)
    head = struct.pack("!BBH", PROXY_V2_COMMAND, PROXY_V2_TCP4, len(block))
    return PROXY_V2_SIGNATURE + head + block


def claim(host: str, port: int, request_id: str, how: str, address: str) -> dict[str, Any]:
    """GET / over HTTPS, tagged ``request_id``, claiming to come from ``address``: in an
    X-Forwarded-For header (``--forwarded-for``) or in a PROXY protocol header sent before
    the TLS handshake, version 1's line (``--proxy-protocol``) or version 2's binary block
    (``--proxy-protocol-v2``), as a load balancer would."""
    with socket.create_connection((host, port), timeout=10) as raw:
        extra = ""
        my_port = raw.getsockname()[1]
        if how == "--proxy-protocol":
            raw.sendall(f"PROXY TCP4 {address} {host} {my_port} {port}\r\n".encode())
        elif how == "--proxy-protocol-v2":
            raw.sendall(proxy_protocol_v2(address, my_port, host, port))
        elif how == "--forwarded-for":
            extra = f"X-Forwarded-For: {address}\r\n"
        else:
            raise SystemExit(f"claim: unknown {how}")
        with any_certificate().wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(
                f"GET / HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: {request_id}\r\n"
                f"{extra}Connection: close\r\n\r\n".encode()
            )
            head = tls.recv(65536)
    return {"status": head[9:12].decode(errors="replace")}


async def exchange(
    host: str, port: int, path: str, kind: str, body: bytes, extra: str = ""
) -> tuple[str, bytes, float]:
    """One POST on a connection of its own: the answer's head and body, and its seconds."""
    started = time.monotonic()
    reader, writer = await connect(host, port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}".encode()
        + f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    head, _, content = (await reader.read()).partition(b"\r\n\r\n")
    writer.close()
    return head.decode(errors="replace"), content, time.monotonic() - started


async def post(host: str, port: int, path: str, kind: str, body: bytes) -> tuple[str, float]:
    """One POST on a connection of its own: the answer's head, and its seconds."""
    head, _, took = await exchange(host, port, path, kind, body)
    return head, took


def retry_after_of(head: str) -> str:
    return next(
        (line.split(":", 1)[1].strip() for line in head.splitlines()
         if line.lower().startswith("retry-after:")), "none",
    )  # fmt: skip


async def writes(host: str, port: int, count: int) -> dict[str, Any]:
    """An account of its own, logged in, then ``count`` small posts as it, one after
    another (the write budget's rate, not the bytes): their statuses and first 429's
    Retry-After. (The proxy answers with Connection: close, so the body is the rest.)"""
    name = f"writer-{secrets.token_hex(4)}"
    password = f"{name} passphrase"
    fields = {"username": name, "email": f"{name}@example.com", "password": password}
    head, made, _ = await exchange(
        host, port, "/users", "application/json", json.dumps(fields).encode()
    )
    assert head[9:12] == "201", head
    form = f"username={name}&password={password.replace(' ', '+')}".encode()
    head, token, _ = await exchange(host, port, "/token", "application/x-www-form-urlencoded", form)
    assert head[9:12] == "200", head
    bearer = f"Authorization: Bearer {json.loads(token)['access_token']}\r\n"
    path = f"/users/{json.loads(made)['id']}/posts"
    body = json.dumps({"title": "t", "content": "a small post"}).encode()
    statuses: Counter[str] = Counter()
    retry_after = ""
    for _ in range(count):
        head, _, _ = await exchange(host, port, path, "application/json", body, bearer)
        statuses[head[9:12] or "nothing"] += 1
        if head[9:12] == "429" and not retry_after:
            retry_after = retry_after_of(head)
    return {"statuses": dict(statuses), "retry_after": retry_after}


async def log_in(host: str, port: int, name: str) -> tuple[str, float]:
    """POST /token with a wrong password."""
    body = f"username={name}&password=wrong+guess".encode()
    return await post(host, port, "/token", "application/x-www-form-urlencoded", body)


async def sign_up(host: str, port: int, name: str) -> tuple[str, float]:
    """POST /users: a new account."""
    fields = {"username": name, "email": f"{name}@example.com", "password": f"{name} secret"}
    return await post(host, port, "/users", "application/json", json.dumps(fields).encode())


async def many(
    host: str, port: int, count: int, at_once: int, one: Callable[..., Any]
) -> dict[str, Any]:
    """``count`` requests by ``one`` (logins, sign-ups), ``at_once`` at a time, each with
    a name of its own (so no name's count of failures refuses one before its password is
    hashed): the statuses, times and the first 429's Retry-After."""
    statuses: Counter[str] = Counter()
    seconds: list[float] = []
    retry_after: list[str] = []  # the first 429's
    numbers = iter(range(count))
    me = secrets.token_hex(3)

    async def one_after_another() -> None:
        for number in numbers:
            head, took = await one(host, port, f"many-{me}-{number}")
            status = head[9:12] or "nothing"
            statuses[status] += 1
            seconds.append(took)
            if status == "429" and not retry_after:
                retry_after.append(retry_after_of(head))

    await asyncio.gather(*(one_after_another() for _ in range(at_once)))
    seconds.sort()
    return {"statuses": dict(statuses), "p50_s": round(seconds[len(seconds) // 2], 3),
            "slowest_s": round(seconds[-1], 3), "retry_after": "".join(retry_after)}  # fmt: skip


async def main(mode: str, host: str, port: int, *args: str) -> dict[str, Any]:
    """What the mode got, as one JSON object to print (crowd prints one more first):

    - ``headers COUNT MIB``: COUNT connections each send a request whose one header runs
      to MIB mebibytes, as fast as the socket takes it;
    - ``slow COUNT SECONDS``: COUNT connections send their headers a byte every half
      second and never finish them, each for at most SECONDS after it connected;
    - ``flood SECONDS``: connections opened as fast as one client can, each asking for
      /healthz, for SECONDS;
    - ``hold COUNT PATH``: COUNT requests for PATH at once, each on a connection of its own;
    - ``crowd LIMIT SECONDS``: LIMIT connections, then one more, the last two asking for
      /healthz; prints their answers at once, then holds every connection for SECONDS;
    - ``keys CONNECTIONS SECONDS``: each connection posts 100,000 unknown keys, again and
      again, for SECONDS;
    - ``dribble CONNECTIONS EVERY``: each connection sends a body's first 20 KiB, then a
      byte every EVERY seconds until it is answered;
    - ``claim REQUEST_ID --forwarded-for|--proxy-protocol[-v2] ADDRESS``: one GET / over HTTPS
      claiming to come from ADDRESS (whatever --tls says);
    - ``spray COUNT AT_ONCE``: COUNT logins to names of their own, AT_ONCE at a time;
    - ``signups COUNT AT_ONCE``: COUNT new accounts, AT_ONCE at a time;
    - ``writes COUNT``: an account of its own, then COUNT posts as it, one at a time.
    """
    if mode == "headers":
        count, mib = int(args[0]), int(args[1])
        results = await asyncio.gather(*(huge_header(host, port, mib) for _ in range(count)))
        return {"clients": list(results)}
    if mode == "slow":
        count, seconds = int(args[0]), float(args[1])
        counts: Counter[str] = Counter()
        closed = await asyncio.gather(
            *(slow_client(host, port, seconds, counts) for _ in range(count))
        )
        held = sorted(c for c in closed if c is not None)
        return {**counts, "closed_after_s": [round(held[0], 2), round(held[-1], 2)] if held else []}
    if mode == "flood":
        return await flood(host, port, float(args[0]))
    if mode == "keys":
        return await keys(host, port, int(args[0]), float(args[1]))
    if mode == "dribble":
        return await dribble(host, port, int(args[0]), float(args[1]))
    if mode == "crowd":
        return await crowd(host, port, int(args[0]), float(args[1]))
    if mode == "hold":
        count, path = int(args[0]), args[1]
        return {
            "requests": list(
                await asyncio.gather(*(hold_one(host, port, path) for _ in range(count)))
            )
        }
    if mode == "claim":
        return claim(host, port, *args)
    if mode == "spray":
        return await many(host, port, int(args[0]), int(args[1]), log_in)
    if mode == "signups":
        return await many(host, port, int(args[0]), int(args[1]), sign_up)
    if mode == "writes":
        return await writes(host, port, int(args[0]))
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[0] == "--tls":
        TLS = any_certificate()
        arguments = arguments[1:]
    mode, host, port, *rest = arguments
    print(json.dumps(asyncio.run(main(mode, host, int(port), *rest))))
