"""Every block of README.md and docs/*.md says how it is run, and the ones that need no
Docker run here: the tree maps, the lines CI runs, the metrics the queries name."""

from __future__ import annotations

import re

import httpx
import pytest

from harness.paths import ROOT
from harness.processes import RunningApi
from tests.docs.examples import RUNNERS, Block, all_blocks, commands
from tests.docs.runners import metrics_named

BLOCKS = all_blocks()


def of(runner: str) -> list[Block]:
    return [block for block in BLOCKS if block.runner == runner]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.where)
def test_every_block_says_how_it_is_run(block: Block) -> None:
    assert block.runner in RUNNERS or block.why, (
        f"{block.where}: put <!-- run: RUNNER --> (one of {', '.join(RUNNERS)}) or "
        "<!-- not run: why --> on the line above the block"
    )
    if block.runner in ("stack", "fresh"):
        assert commands(block), f"{block.where}: no command to run"


@pytest.mark.parametrize("block", of("ci"), ids=lambda block: block.where)
def test_ci_runs_these_lines_word_for_word(block: Block) -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in commands(block):
        assert command.text in ci, f"{block.where}: .ci/run does not run {command.text!r}"


@pytest.mark.parametrize("block", of("tree"), ids=lambda block: block.where)
def test_every_folder_of_a_tree_map_exists(block: Block) -> None:
    folders = re.findall(r"^(\S+/)\s", block.text, re.MULTILINE)
    assert folders, block.where
    for folder in folders:
        assert (ROOT / folder).is_dir(), f"{block.where}: {folder} does not exist"


@pytest.mark.parametrize("block", of("promql"), ids=lambda block: block.where)
def test_every_metric_a_query_names_is_scraped(block: Block, api_server: RunningApi) -> None:
    httpx.get(api_server.base_url + "/users/1", timeout=10)
    scraped = httpx.get(api_server.metrics_url, timeout=10).text
    names = metrics_named(block)
    assert names, block.where
    missing = sorted(name for name in names if f"\n{name}" not in scraped)
    assert not missing, f"{block.where}: the API exports no {missing}"
