"""Operator commands that cannot hurt, on the stack `LOG_FORMAT=json make up` gives (the
development override, as docs/operating.md asks): one-off runs with other log settings
leave the database as it was while the api serves on; the page's log recipes work;
`make release` works right after; a target refuses a stack up from other files."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.load import Load
from harness.paths import ROOT
from tests.docs.examples import blocks
from tests.docs.runners import PRODUCTION_FILES, Target, run_commands
from tests.support.docker import with_docker_or_skip

pytestmark = pytest.mark.e2e


# What the stack was brought up with, and every command here runs with unless it says.
AS_UP = {"LOG_FORMAT": "json"}


def shell(target: Target, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=ROOT,
        env={**target.environment(), **AS_UP, **env}, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip


def db_container(target: Target) -> dict[str, Any]:
    found = shell(target, "docker compose ps -q db").stdout.split()
    assert len(found) == 1, found
    inspected = shell(
        target, f"docker inspect -f '{{{{.Id}}}} {{{{.State.StartedAt}}}}' {found[0]}"
    )
    container, started = inspected.stdout.split()
    return {"id": container, "started": started}


@pytest.fixture(scope="module")
def made_up() -> Iterator[Target]:
    with_docker_or_skip()
    target = Target.fresh()
    try:
        up = shell(target, "make up")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield target
    finally:
        target.remove()


@pytest.mark.parametrize(
    ("command", "env"),
    [
        ("make current", {"LOG_LEVEL": "DEBUG"}),
        ("docker compose run --rm migrator current", {"LOG_LEVEL": "debug"}),
        ("make plan", {"LOG_FORMAT": "JSON"}),
        ("make seed", {"LOG_LEVEL": "warning", "LOG_FORMAT": "console"}),
    ],
    ids=["make current", "compose run", "make plan", "make seed"],
)
def test_a_one_off_run_leaves_the_database_alone(
    made_up: Target, command: str, env: dict[str, str]
) -> None:
    before = db_container(made_up)
    with Load(f"http://127.0.0.1:{made_up.port}", seconds=math.inf, writers=1) as load:
        result = shell(made_up, command, **env)
        load.stop()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert db_container(made_up) == before
    report = load.report()
    assert report.samples, "the load made no request"
    assert report.errors_by_kind() == {}


def test_the_log_recipes_of_operating_md_work_on_it(made_up: Target) -> None:
    page = ROOT / "docs" / "operating.md"
    logs = [block for block in blocks(page) if block.runner == "stack"][:2]
    assert all("docker logs" in block.text for block in logs)
    failures = [failure for block in logs for failure in run_commands(block, made_up)]
    assert not failures, "\n\n".join(failures)


def test_make_release_works_where_make_up_left_it_and_drops_nothing(made_up: Target) -> None:
    before = db_container(made_up)
    with Load(f"http://127.0.0.1:{made_up.port}", seconds=math.inf) as load:
        result = shell(made_up, "make release")
        load.stop()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "replaced" in result.stderr
    assert db_container(made_up) == before
    assert load.report().errors_by_kind() == {}


def test_a_target_refuses_a_stack_up_from_other_files(made_up: Target) -> None:
    """The development stack is up: a production-shape command must not turn it into
    production's (nor the reverse), so the target stops before compose acts."""
    production = dataclasses.replace(made_up, files=PRODUCTION_FILES)
    before = db_container(made_up)
    result = shell(production, "make current")
    assert result.returncode == 2
    assert "is up from" in result.stderr
    assert db_container(made_up) == before


def test_in_development_the_door_says_why_the_api_is_not_ready(made_up: Target) -> None:
    """With the database stopped no api is ready; production's door answers its own
    generic 503, the development override's lets the api say why (last here: it
    restarts the database)."""
    assert shell(made_up, "docker compose stop db").returncode == 0
    try:
        # Long enough for the proxy's checks to mark every api down (fall 2, inter 1s).
        answers = set()
        until = time.monotonic() + 8
        while time.monotonic() < until:
            response = httpx.get(f"http://127.0.0.1:{made_up.port}/posts", timeout=10)
            answers.add((response.status_code, response.json()["detail"]))
            time.sleep(0.25)
        assert answers == {(503, "database unavailable")}
    finally:
        assert shell(made_up, "docker compose start db").returncode == 0
