"""The ``migrator`` command: alembic's command line, every subcommand and option as alembic
has them, plus ``plan``; each run of it configures logging once."""

from __future__ import annotations

import argparse
import subprocess

import pytest
from alembic.config import CommandLine
from sqlalchemy.engine import URL

from harness.paths import ALEMBIC_INI
from harness.processes import MIGRATOR, alembic, service_env
from harness.revisions import HEAD_REVISION
from migrator.cli import MigratorCommandLine, main
from tests.support.logs import log_lines


def subcommands(cli: CommandLine) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in cli.parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def options(parser: argparse.ArgumentParser) -> list[tuple[tuple[str, ...], str]]:
    """What a (sub)command accepts: each argument's option strings and destination."""
    return [(tuple(action.option_strings), action.dest) for action in parser._actions]


def test_help_lists_every_alembic_command_and_plan() -> None:
    result = subprocess.run(
        [MIGRATOR, "--help"], env=service_env(), capture_output=True, text=True, check=True
    )
    listed = result.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert set(listed) == {*subcommands(CommandLine()), "plan"}
    assert result.stdout.startswith("usage: migrator ")


def test_every_alembic_command_and_option_is_as_alembic_has_it() -> None:
    alembics, ours = subcommands(CommandLine()), subcommands(MigratorCommandLine())
    assert set(ours) - set(alembics) == {"plan"}
    for name, parser in alembics.items():
        assert options(ours[name]) == options(parser), name
    assert options(MigratorCommandLine().parser) == options(CommandLine().parser)


def test_plan_takes_json_and_strict_and_nothing_else() -> None:
    assert options(subcommands(MigratorCommandLine())["plan"]) == [
        (("-h", "--help"), "help"),
        (("--json",), "json"),
        (("--strict",), "strict"),
    ]


def test_an_alembic_command_runs_as_alembic_runs_it(capfd: pytest.CaptureFixture[str]) -> None:
    main(["-c", str(ALEMBIC_INI), "heads"])
    assert capfd.readouterr().out == f"{HEAD_REVISION} (head)\n"


def configured(stderr: str) -> int:
    return sum(line["message"] == "logging configured" for line in log_lines(stderr))


@pytest.mark.parametrize(
    "command",
    [("upgrade", "head"), ("downgrade", "-1"), ("plan",), ("plan", "--json")],
    ids=" ".join,
)
def test_logging_is_configured_once_per_command(empty_database: URL, command: tuple[str]) -> None:
    # The plan runs alembic's upgrade in-process (twice): env.py must not configure again.
    if command[0] != "upgrade":
        alembic(empty_database, "upgrade", "head")
    if command[0] == "plan":
        alembic(empty_database, "downgrade", "-1")
    result = alembic(empty_database, *command, LOG_LEVEL="debug")
    assert configured(result.stderr) == 1, result.stderr
