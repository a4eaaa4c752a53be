"""The container's healthcheck: exit 0 when /readyz answers 200 on the server's port:
GUNICORN_BIND's when it is set, else the lowest the kernel says a socket listens on
(/proc/net/tcp). So the settings keep the one default, and the check imports the
standard library alone: pydantic and SQLAlchemy would cost half a second of CPU each
time Docker runs it."""

import os
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

LISTEN = "0A"  # the TCP state in /proc/net/tcp{,6}
TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def listening_ports(tables: tuple[Path, ...] = TABLES) -> Iterator[int]:
    """The ports of this network namespace's listening TCP sockets, lowest first."""
    ports: set[int] = set()
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    yield from sorted(ports)


def server_port() -> int | None:
    bind = os.environ.get("GUNICORN_BIND")
    return int(bind.rsplit(":", 1)[1]) if bind else next(listening_ports(), None)


def main() -> int:
    port = server_port()
    if port is None:
        print("healthcheck: nothing listens yet", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
