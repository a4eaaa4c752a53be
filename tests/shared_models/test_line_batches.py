"""Log lines written a batch at a time (shared_models.line_batches), read from a real pipe,
as Docker reads a container's standard error."""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from shared_models.line_batches import PIPE_BUF, BatchedLineHandler, LineBatcher


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    os.set_blocking(read, False)
    yield read, write
    os.close(read)
    os.close(write)


def waiting(fd: int) -> bytes:
    """What the pipe holds now, without waiting for more."""
    chunks = []
    while select.select([fd], [], [], 0)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks)


def test_lines_wait_for_their_batch_then_arrive_together_in_order(
    pipe: tuple[int, int],
) -> None:
    read, write = pipe
    lines = LineBatcher(write, seconds=0.3)
    for number in range(4):
        lines.write(f"line {number}\n".encode())
    assert waiting(read) == b"line 0\n"  # the first after a quiet spell: at once
    time.sleep(0.6)
    assert waiting(read) == b"line 1\nline 2\nline 3\n"


def test_a_quiet_process_writes_each_line_at_once(pipe: tuple[int, int]) -> None:
    """An operator's one request shows in the logs as it ends, not a batch later."""
    read, write = pipe
    lines = LineBatcher(write, seconds=0.1)
    for number in range(3):
        lines.write(f"request {number}\n".encode())
        assert waiting(read) == f"request {number}\n".encode()
        time.sleep(0.15)


def test_a_warning_is_written_at_once_with_every_line_before_it(pipe: tuple[int, int]) -> None:
    read, write = pipe
    lines = LineBatcher(write, seconds=30)
    lines.write(b"a first line\n")
    lines.write(b"an access line\n")
    lines.write(b"a warning\n", urgent=True)
    assert waiting(read) == b"a first line\nan access line\na warning\n"


def test_at_zero_seconds_every_line_is_written_at_once(pipe: tuple[int, int]) -> None:
    read, write = pipe
    lines = LineBatcher(write, seconds=0)
    lines.write(b"one\n")
    assert waiting(read) == b"one\n"


def test_a_full_batch_is_written_without_waiting(pipe: tuple[int, int]) -> None:
    read, write = pipe
    lines = LineBatcher(write, seconds=30)
    line = b"x" * 99 + b"\n"
    lines.write(b"the first, at once\n")
    assert waiting(read) == b"the first, at once\n"
    for _ in range(PIPE_BUF // len(line) + 1):
        lines.write(line)
    written = waiting(read)
    assert written == line * (PIPE_BUF // len(line))  # one batch, within PIPE_BUF
    lines.flush()
    assert waiting(read) == line


def test_processes_sharing_a_pipe_never_cut_each_others_lines(pipe: tuple[int, int]) -> None:
    """gunicorn's workers share their master's standard error: each batch arrives whole."""
    read, write = pipe
    os.set_blocking(read, True)
    per_process, children = 3000, []
    for letter in b"ab":
        pid = os.fork()
        if pid == 0:  # pragma: no cover  (the child's coverage is not collected)
            lines = LineBatcher(write, seconds=0.01)
            for number in range(per_process):
                lines.write(bytes([letter]) * 60 + f" {number}\n".encode())
            lines.flush()
            os._exit(0)
        children.append(pid)
    time.sleep(0.3)  # both blocked on the full pipe, each with more to write
    received = b""
    while received.count(b"\n") < 2 * per_process:
        received += os.read(read, 65536)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    for name in "ab":
        numbers = [
            int(line.split()[1]) for line in received.decode().splitlines() if line[0] == name
        ]
        assert numbers == list(range(per_process))  # whole, and in order
    assert all(line.split()[0] in ("a" * 60, "b" * 60) for line in received.decode().splitlines())


def test_a_forked_child_starts_afresh(pipe: tuple[int, int]) -> None:
    """Its parent's waiting lines are the parent's to write (gunicorn forks its workers
    from a master that has logged)."""
    read, write = pipe
    lines = LineBatcher(write, seconds=30)
    lines.write(b"the parent's first\n")
    lines.write(b"the parent's\n")
    assert waiting(read) == b"the parent's first\n"
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        lines.write(b"the child's\n")
        lines.flush()
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert waiting(read) == b"the child's\n"
    lines.flush()
    assert waiting(read) == b"the parent's\n"


def test_lines_still_waiting_are_written_at_exit() -> None:
    program = (
        "from shared_models.line_batches import LineBatcher\n"
        "lines = LineBatcher(1, seconds=30)\n"
        "lines.write(b'first words\\n')\n"
        "lines.write(b'last words\\n')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, timeout=30, check=True
    )
    assert result.stdout == b"first words\nlast words\n"


def test_a_servers_own_lines_are_written_at_once(pipe: tuple[int, int]) -> None:
    """uvicorn's worker ends on a signal that runs no exit handler, right after its last
    line: the handler writes the servers' lines (and everything before them) at once."""
    read, write = pipe
    handler = BatchedLineHandler(LineBatcher(write, seconds=30), at_once=("uvicorn",))
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def record(name: str, message: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.INFO, __file__, 1, message, None, None)

    handler.handle(record("api", "quiet, so at once"))
    handler.handle(record("api.access", "a request"))
    handler.handle(record("uvicornish", "not uvicorn's"))
    assert waiting(read) == b"api quiet, so at once\n"
    handler.handle(record("uvicorn.error", "Finished server process"))
    assert waiting(read) == (
        b"api.access a request\nuvicornish not uvicorn's\nuvicorn.error Finished server process\n"
    )
