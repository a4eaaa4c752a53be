"""One compose stack per fault module, built and started once, removed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.compose import ComposeProject, with_docker_or_skip


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeProject]:
    """compose.yaml alone (production's shape), no .env, reached through its published port."""
    with_docker_or_skip()
    stack = ComposeProject(prefix="faults")
    try:
        stack("up", "--build", "--wait")
        yield stack
    finally:
        stack.remove()
