"""shared_models.startup: every program checks every setting it reads before it does
anything, and stops with status 2 naming each bad variable, never its value; the tuple it
checks is the one the docs and the compose tests walk (tools.configuration.PROGRAMS)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from harness.paths import ALEMBIC_INI
from harness.postgres import free_port
from harness.processes import (
    PRODUCTION_GUNICORN_CONFIG,
    alembic_command,
    gunicorn_command,
    service_env,
)
from migrator import cli, runner
from migrator.plan import command as plan
from migrator.settings import MigratorSettings
from migrator.steps import roles, secrets, seed
from shared_models import startup
from shared_models.logs import LogSettings
from shared_models.settings import DatabaseSettings, EnvSettings
from shared_models.startup import INVALID_CONFIGURATION, load
from tools.configuration import PROGRAMS

# The shell's service variables are cleared by tests/conftest.py; each test sets its own.


@pytest.fixture
def logging_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process, caplog's handler stays: the subprocess tests below see the real
    configuration."""
    monkeypatch.setattr(startup, "configure_logging", lambda settings, program: None)


@pytest.mark.usefixtures("logging_left_alone")
def test_each_problem_is_reported_once_with_every_other(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    monkeypatch.setenv("POSTGRES_PORT", "0")
    with caplog.at_level(logging.CRITICAL), pytest.raises(SystemExit):
        load("migrator", (DatabaseSettings, LogSettings, DatabaseSettings))
    (record,) = caplog.records
    problems = record.getMessage().removeprefix("migrator: invalid configuration: ").split("; ")
    assert [problem.split(":")[0] for problem in problems] == ["POSTGRES_PORT", "LOG_LEVEL"]


@pytest.mark.usefixtures("logging_left_alone")
def test_load_exits_2_naming_each_bad_variable_never_its_value(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "s3cret-format")
    monkeypatch.setenv("MIGRATOR_LOCK_TIMEOUT", "-31337")
    with caplog.at_level(logging.CRITICAL), pytest.raises(SystemExit) as exited:
        load("migrator", (MigratorSettings, LogSettings))
    assert exited.value.code == INVALID_CONFIGURATION == 2
    (record,) = caplog.records
    assert record.getMessage().startswith("migrator: invalid configuration: ")
    assert "LOG_FORMAT: " in record.getMessage()
    assert "MIGRATOR_LOCK_TIMEOUT: " in record.getMessage()
    assert "s3cret-format" not in caplog.text
    assert "-31337" not in caplog.text


def test_load_gives_each_class_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load("migrator", (MigratorSettings, LogSettings))
    assert settings.log.log_level == "debug"
    assert settings[MigratorSettings] is settings[MigratorSettings]


class Started(Exception):
    """Raised by a stand-in for start: the program got no further."""


def first_start(
    monkeypatch: pytest.MonkeyPatch, module: object, main: Callable[[], object]
) -> tuple[str, Sequence[type[EnvSettings]]]:
    """What ``main`` passes to shared_models.startup.start, which it must call first."""
    calls: list[tuple[str, Sequence[type[EnvSettings]]]] = []

    def stand_in(program: str, settings: Sequence[type[EnvSettings]]) -> LogSettings:
        calls.append((program, settings))
        raise Started

    monkeypatch.setattr(module, "start", stand_in)
    with pytest.raises(Started):
        main()
    (call,) = calls
    return call


def test_each_step_starts_with_the_settings_it_is_documented_to_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Started raised in start itself: nothing ran before it (no argument was even read).
    assert first_start(monkeypatch, secrets, lambda: secrets.main(["bogus"])) == (
        "secrets",
        PROGRAMS["secrets"].settings,
    )
    assert first_start(monkeypatch, roles, roles.main) == ("roles", PROGRAMS["roles"].settings)
    assert first_start(monkeypatch, seed, seed.main) == ("seed", PROGRAMS["seed"].settings)
    plan_command = lambda: cli.main(["-c", str(ALEMBIC_INI), "plan"])  # noqa: E731
    assert first_start(monkeypatch, plan, plan_command) == ("plan", PROGRAMS["plan"].settings)


def test_the_migrator_checks_what_each_kind_of_command_reads() -> None:
    online = runner.settings_read(offline=False, callers_connection=False)
    assert online == PROGRAMS["migrator"].settings
    offline = runner.settings_read(offline=True, callers_connection=False)
    assert offline == (MigratorSettings, LogSettings)
    assert set(offline) < set(online)
    # A caller's own connection: its settings are the caller's business, as they were.
    assert runner.settings_read(offline=False, callers_connection=True) == ()


@dataclass(frozen=True)
class Command:
    program: str  # its name in tools.configuration.PROGRAMS
    argv: list[str]
    bad: tuple[str, str]  # a variable of its own settings (not LOG_*), and a wrong value


MODULE = [sys.executable, "-m"]
COMMANDS = {
    # `make move-passwords`'s form: with nothing on standard input it would exit 2 for
    # that (never naming LOG_*), and whatever happens it never writes /run/secrets here.
    "secrets": Command("secrets", [*MODULE, "migrator.steps.secrets", "import"],
                       ("LOG_FORMAT", "s3cret-format")),
    "roles": Command("roles", [*MODULE, "migrator.steps.roles"],
                     ("OWNER_DB_USER", "S3cret-Owner")),
    "migrator": Command("migrator", alembic_command(ALEMBIC_INI, "upgrade", "head"),
                        ("MIGRATOR_LOCK_TIMEOUT", "-31337")),
    "migrator --sql": Command("migrator", alembic_command(ALEMBIC_INI, "upgrade", "head", "--sql"),
                              ("MIGRATOR_STATEMENT_TIMEOUT", "-27182")),
    "seed": Command("seed", [*MODULE, "migrator.steps.seed"], ("POSTGRES_PORT", "s3cret-port")),
    "plan": Command("plan", alembic_command(ALEMBIC_INI, "plan"),
                    ("MIGRATOR_BACKFILL_BATCH_SIZE", "-161803")),
    "api": Command("api", gunicorn_command(PRODUCTION_GUNICORN_CONFIG), ("DB_POOL_SIZE", "-4242")),
}  # fmt: skip


def test_every_program_is_run_here() -> None:
    assert {command.program for command in COMMANDS.values()} == set(PROGRAMS)


def run(command: Command, tmp_path: Path, **bad: str) -> subprocess.CompletedProcess[str]:
    """The program in an environment that is right but for ``bad``: were that not checked,
    it would go on and fail another way (nobody listens at the database's address, and it
    waits for none) or, the api, serve until the timeout."""
    nobody_listens = URL.create(
        "postgresql", "someone", "password", "127.0.0.1", free_port(), "app"
    )
    environment = service_env(
        nobody_listens,
        MIGRATOR_DB_WAIT_SECONDS="0",
        POSTGRES_CONNECT_TIMEOUT="1",
        GUNICORN_BIND=f"127.0.0.1:{free_port()}",
        WEB_CONCURRENCY="1",
        METRICS_DIR=str(tmp_path / "metrics"),
        **bad,
    )
    return subprocess.run(
        command.argv, env=environment, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip


def the_failure(result: subprocess.CompletedProcess[str], program: str) -> str:
    """The one line the program logged about its configuration (JSON, as every line)."""
    assert result.returncode == INVALID_CONFIGURATION, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (failure,) = [line for line in lines if "invalid configuration" in line["message"]]
    assert failure["level"] == "CRITICAL"
    assert failure["service"] == program
    message: str = failure["message"]
    return message


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_program_refuses_a_log_level_it_does_not_know(name: str, tmp_path: Path) -> None:
    command = COMMANDS[name]
    result = run(command, tmp_path, LOG_LEVEL="verbose")
    message = the_failure(result, command.program)
    # The one problem of this environment, named.
    assert re.fullmatch(rf"{command.program}: invalid configuration: LOG_LEVEL: [^;]*", message)
    assert result.stdout == ""  # --sql: no script for a run that is refused


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_program_refuses_a_bad_value_of_its_own_without_printing_it(
    name: str, tmp_path: Path
) -> None:
    command = COMMANDS[name]
    variable, value = command.bad
    result = run(command, tmp_path, **{variable: value})
    message = the_failure(result, command.program)
    assert re.fullmatch(rf"{command.program}: invalid configuration: {variable}: [^;]*", message)
    assert value not in result.stdout + result.stderr
