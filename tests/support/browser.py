"""A real browser with no internet: headless Chromium that reaches this machine's loopback
addresses and nothing else, and a static site on loopback to show it pages of a test's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from harness.postgres import free_port

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, as .ci/run installs it
# Virtual time: Chromium skips ahead while the page waits on timers (not on the network),
# so a budget generous enough for Swagger UI and ReDoc to fetch and render the document
# still costs only a second or two of real time.
VIRTUAL_TIME_BUDGET_MS = 15_000


@dataclass(frozen=True)
class OfflineChromium:
    executable: Path

    def dump_dom(self, url: str) -> str:
        """The DOM of ``url`` once the virtual time budget has run out, as HTML."""
        return self._run(url, "--dump-dom").stdout

    def screenshot(self, url: str, path: Path, *, width: int, height: int) -> None:
        self._run(url, f"--screenshot={path}", f"--window-size={width},{height}")
        assert path.is_file(), f"chromium wrote no screenshot to {path}"

    @contextmanager
    def page(self, url: str) -> Iterator[DevTools]:
        """``url`` open in the browser, driven through the DevTools protocol."""
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            command = [*self._offline(profile), f"--remote-debugging-port={port}", url]
            browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                with connect(debugger_url(port, url), max_size=None) as socket:
                    yield DevTools(socket)
            finally:
                browser.terminate()
                browser.wait(timeout=30)

    def _offline(self, profile: str) -> list[str]:
        # Nothing but loopback, twice over: no host name resolves, and every request that
        # is not for loopback goes to a proxy on a port where nothing listens (Chromium
        # never sends loopback through a proxy). So a CDN fails even where CI has internet.
        dead_proxy = f"http://127.0.0.1:{free_port()}"
        return [
            str(self.executable), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--proxy-server={dead_proxy}",
        ]  # fmt: skip

    def _run(self, url: str, *args: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            command = [
                *self._offline(profile), f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
                *args, url,
            ]  # fmt: skip
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=120, check=False
            )
        if result.returncode != 0:
            raise AssertionError(
                f"chromium exited {result.returncode} on {url}:\n{result.stderr[-4000:]}"
            )
        return result


def debugger_url(port: int, url: str) -> str:
    """The DevTools WebSocket of the browser's page showing ``url``, once it is up."""
    give_up_at = time.monotonic() + 30
    while True:
        try:
            targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
            page = next(t for t in targets if t["type"] == "page" and t["url"] == url)
            return str(page["webSocketDebuggerUrl"])
        except (httpx.HTTPError, StopIteration):
            if time.monotonic() > give_up_at:
                raise
            time.sleep(0.2)


class DevTools:
    """One page of the browser, by the Chrome DevTools Protocol over its WebSocket."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.sent = 0

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        self.sent += 1
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        self.socket.send(
            json.dumps({"id": self.sent, "method": "Runtime.evaluate", "params": params})
        )
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.sent:
                break
        result = message["result"]
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, within: float = 30) -> Any:
        """The expression's value once it is truthy."""
        give_up_at = time.monotonic() + within
        while not (value := self.evaluate(expression)):
            assert time.monotonic() < give_up_at, f"never true: {expression}"
            time.sleep(0.2)
        return value


def offline_chromium_or_skip() -> OfflineChromium:
    """Skip without Chromium, except in CI, where the browser tests must run."""
    if os.access(CHROMIUM, os.X_OK):
        return OfflineChromium(CHROMIUM)
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests, but {CHROMIUM} is missing")
    pytest.skip(f"Chromium is not installed ({CHROMIUM}; apt-get install chromium)")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a loopback port; yields its base URL."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
