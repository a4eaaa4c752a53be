"""The pages' examples that need the compose stack, run as a reader would run them:
`stack` blocks on one running `compose.yaml` stack, each page's in order; `fresh` blocks
each on a project of their own that they bring up themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.compose import ComposeProject
from harness.paths import ROOT
from tests.docs.examples import PAGES, Block, all_blocks
from tests.docs.runners import CLIENT_FOLDER, Target, run_client, run_commands
from tests.support.docker import with_docker_or_skip

pytestmark = pytest.mark.e2e

BLOCKS = all_blocks()
STACK_PAGES = sorted(
    {block.page for block in BLOCKS if block.runner in ("stack", "client")}, key=PAGES.index
)


@pytest.fixture(scope="module")
def docs_stack() -> Iterator[ComposeProject]:
    with_docker_or_skip()
    # The stack a reader has: `LOG_FORMAT=json make up`'s (docs/operating.md says so).
    stack = ComposeProject(
        prefix="docs",
        files=("compose.yaml", "compose.override.yaml"),
        env_file_text="LOG_FORMAT=json\n",
    )
    try:
        stack("up", "--build", "--wait")
        yield stack
    finally:
        stack.remove()
        if CLIENT_FOLDER.exists():
            for path in sorted(CLIENT_FOLDER.rglob("*"), reverse=True):
                path.unlink() if not path.is_dir() else path.rmdir()
            CLIENT_FOLDER.rmdir()


@pytest.mark.parametrize("page", STACK_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_a_pages_examples_on_the_stack(page: Path, docs_stack: ComposeProject) -> None:
    target = Target.of(docs_stack)
    failures = []
    for block in (block for block in BLOCKS if block.page == page):
        if block.runner == "stack":
            found = run_commands(block, target)
        elif block.runner == "client":
            found = run_client(block, target)
        else:
            continue
        failures += [f"{block.where}: {failure}" for failure in found]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(
    "block", [block for block in BLOCKS if block.runner == "fresh"], ids=lambda b: b.where
)
def test_an_example_that_brings_its_own_stack_up(block: Block) -> None:
    with_docker_or_skip()
    target = Target.fresh()
    try:
        failures = run_commands(block, target)
    finally:
        target.remove()
    assert not failures, f"{block.where}: " + "\n\n".join(failures)
