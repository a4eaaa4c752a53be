"""The migrator's command line and gunicorn, run in forks of a process that has already
imported them: the same code, arguments, environment, output and exit status as the
programs, without 0.8 s of imports on each of a test session's 150-odd runs. Real process
starts remain: failing ones of each program in tests/shared_models/test_startup.py; the
migrator's successful ones in tests/migrator/ (test_runner.py, test_advisory_lock.py,
test_lock_timeouts.py); gunicorn's successful ones only in the compose suite (tests/e2e/)."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from multiprocessing.context import ForkServerContext, ForkServerProcess
from pathlib import Path

# What every run imports anyway. Only modules that read nothing from the environment as
# they import: never the api's own (prometheus_client picks its multiprocess mode then).
PRELOAD = [
    "migrator.cli",
    "migrator.frozen",
    "sqlalchemy.dialects.postgresql.psycopg",
    "gunicorn.app.wsgiapp",
    "gunicorn.arbiter",
    "uvicorn_worker",
    "fastapi",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "pydantic_settings",
    "structlog",
    "pwdlib",
    "jwt",
    "email_validator",
]


@cache
def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


@contextmanager
def _as_a_process(env: dict[str, str], out_path: str, err_path: str) -> Iterator[None]:
    """In the fork, around the program: before it, its environment and its output to the
    files; after it, what an interpreter's exit runs (a forked child skips that)."""
    os.environ.clear()
    os.environ.update(env)
    for path, fd in ((out_path, 1), (err_path, 2)):
        opened = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.dup2(opened, fd)
        os.close(opened)
    try:
        yield
    finally:
        # For batched log lines and coverage's data. gunicorn's master, and a worker that
        # exits by SystemExit, leave through here too.
        atexit._run_exitfuncs()


def _run_migrator(argv: list[str], env: dict[str, str], out_path: str, err_path: str) -> None:
    from migrator.cli import main

    with _as_a_process(env, out_path, err_path):
        main(argv)


def _run_gunicorn(argv: list[str], env: dict[str, str], log_path: str) -> None:
    from gunicorn.app.wsgiapp import run

    with _as_a_process(env, log_path, log_path):
        sys.argv = ["gunicorn", *argv]  # gunicorn parses them, as `python -m gunicorn` does
        run(prog="gunicorn")


def run_migrator(
    argv: Sequence[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``migrator *argv`` with ``env`` as its whole environment; output captured as text."""
    with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as err:
        process = _context().Process(
            target=_run_migrator, args=(list(argv), env, out.name, err.name)
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["migrator", *argv], timeout)
        return subprocess.CompletedProcess(
            ["migrator", *argv],
            process.exitcode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


class ForkedProcess:
    """What the tests use of subprocess.Popen, for a program started by start_gunicorn."""

    def __init__(self, process: ForkServerProcess, args: list[str]) -> None:
        self._process = process
        self.args = args
        self.pid = process.pid or 0

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start_gunicorn(argv: Sequence[str], env: dict[str, str], log_path: Path) -> ForkedProcess:
    """``gunicorn *argv`` with ``env`` as its whole environment, its output to ``log_path``."""
    log_path.write_bytes(b"")
    process = _context().Process(target=_run_gunicorn, args=(list(argv), env, str(log_path)))
    process.start()
    return ForkedProcess(process, ["gunicorn", *argv])
