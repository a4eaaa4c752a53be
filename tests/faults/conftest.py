"""One compose stack per fault module, built and started once, removed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.compose import ComposeProject
from tests.faults.checks import ARTIFACTS
from tests.support.docker import with_docker_or_skip


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[ComposeProject]:
    """compose.yaml alone (production's shape), no .env, reached through its published port."""
    with_docker_or_skip()
    stack = ComposeProject(prefix="faults")
    try:
        stack("up", "--build", "--wait")
        yield stack
    finally:
        # Every container's log, to read what a failed case's server said.
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{request.module.__name__.rsplit('.', 1)[-1]}.log").write_text(stack.logs())
        stack.remove()
