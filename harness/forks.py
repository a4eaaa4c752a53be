"""The migrator's command line run in a fork of a process that has already imported it:
the console script's code, arguments, environment, output and exit status, without its
0.8 s of imports on each of the hundred-odd runs of a test session. The migrator's own
process start is tested through the console script itself (tests/migrator/test_cli.py)."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import subprocess
import tempfile
from collections.abc import Sequence
from functools import cache
from multiprocessing.context import ForkServerContext

# What every run imports anyway: the command line, and what its commands load later.
PRELOAD = ["migrator.cli", "sqlalchemy.dialects.postgresql.psycopg", "migrator.frozen"]


@cache
def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _run_migrator(argv: list[str], env: dict[str, str], out_path: str, err_path: str) -> None:
    """In the fork: as the console script would run, from ``os.environ`` to the exit hooks
    (log lines still batched, coverage's data), which a forked child would otherwise skip."""
    from migrator.cli import main

    os.environ.clear()
    os.environ.update(env)
    for path, fd in ((out_path, 1), (err_path, 2)):
        opened = os.open(path, os.O_WRONLY)
        os.dup2(opened, fd)
        os.close(opened)
    try:
        main(argv)
    finally:
        atexit._run_exitfuncs()


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
