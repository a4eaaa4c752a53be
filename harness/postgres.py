"""A throwaway PostgreSQL server for the tests: local binaries if installed, else a container.

Never SQLite, never a mock: the suite runs against the same server the stack uses.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

SUPERUSER = "postgres"
# Durability is not what these tests are about; skipping fsync makes them fast.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_accepting(url: URL, deadline_seconds: float = 60) -> None:
    give_up_at = time.monotonic() + deadline_seconds
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > give_up_at:
                raise
            time.sleep(0.2)


def local_bindir() -> Path | None:
    """Directory of pg_ctl from a Debian-style install or PATH, newest major first."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parts[-3]),
        reverse=True,
    )
    if candidates:
        return candidates[0].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class PostgresServer:
    """One server with a superuser ``postgres``; ``url`` reaches its ``postgres`` database.

    ``durable=False`` (the tests) skips fsync; ``durable=True`` (the benchmark) keeps
    PostgreSQL's defaults, so commits cost what they cost in production."""

    def __init__(self, durable: bool = False, settings: tuple[str, ...] = ()) -> None:
        self.settings = ["max_connections=200", *(() if durable else FAST_SETTINGS), *settings]
        self.password = secrets.token_hex(12)
        self.port = free_port()
        self.url = URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            password=self.password,
            host="127.0.0.1",
            port=self.port,
            database="postgres",
        )

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def server_log(self) -> str:
        raise NotImplementedError


class LocalPostgres(PostgresServer):
    """initdb + pg_ctl in a temporary directory; as root, runs them as the postgres user."""

    def __init__(self, bindir: Path, durable: bool = False, settings: tuple[str, ...] = ()) -> None:
        super().__init__(durable, settings)
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="test-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(self.root, user="postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if self.as_user:
            shutil.chown(pwfile, user="postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        pwfile.unlink()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-k {self.root}",
                *(f"-c {setting}" for setting in self.settings),
            ]
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        wait_until_accepting(self.url)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def server_log(self) -> str:
        return (self.root / "log").read_text(errors="replace")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class ContainerPostgres(PostgresServer):
    """The stack's own postgres image, published on a loopback port."""

    def __init__(self, durable: bool = False, settings: tuple[str, ...] = ()) -> None:
        super().__init__(durable, settings)
        self.image = os.environ.get("POSTGRES_IMAGE", "postgres:17")
        self.name = f"test-pg-{secrets.token_hex(4)}"
        subprocess.run(
            [
                "docker", "create", "--name", self.name,
                "-e", f"POSTGRES_PASSWORD={self.password}",
                "-e", f"POSTGRES_USER={SUPERUSER}",
                "-p", f"127.0.0.1:{self.port}:5432",
                self.image,
                *(arg for setting in self.settings for arg in ("-c", setting)),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        subprocess.run(["docker", "start", self.name], check=True, stdout=subprocess.DEVNULL)
        wait_until_accepting(self.url, deadline_seconds=120)

    def stop(self) -> None:
        subprocess.run(["docker", "stop", self.name], check=True, stdout=subprocess.DEVNULL)

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", "-v", self.name], check=False, capture_output=True)

    def server_log(self) -> str:
        logs = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True)
        return logs.stdout + logs.stderr


def throwaway_server(durable: bool = False, settings: tuple[str, ...] = ()) -> PostgresServer:
    """A new server; ``settings`` are extra ``name=value`` server settings."""
    bindir = local_bindir()
    if bindir is not None:
        return LocalPostgres(bindir, durable, settings)
    if shutil.which("docker"):
        return ContainerPostgres(durable, settings)
    raise RuntimeError(
        "the tests need PostgreSQL: install its server binaries (apt-get install postgresql), "
        "or Docker, or set TEST_DATABASE_URL to a server where they may create databases"
    )


def external_server_url() -> URL | None:
    raw = os.environ.get("TEST_DATABASE_URL")
    return make_url(raw).set(drivername="postgresql+psycopg") if raw else None
