"""One compose stack for the end-to-end modules: built and started once, removed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.compose import ComposeProject
from tests.support.docker import with_docker_or_skip


@pytest.fixture(scope="session")
def stack() -> Iterator[ComposeProject]:
    """compose.yaml alone (production's shape), as in a fresh clone: no .env at all."""
    with_docker_or_skip()
    stack = ComposeProject()
    try:
        stack("up", "--build", "--wait")
        yield stack
    finally:
        stack.remove()
