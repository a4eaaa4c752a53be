"""The real programs, run as the stack runs them: the migrator's CLI and the gunicorn server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from harness import forks
from harness.forks import ForkedProcess, run_migrator
from harness.paths import ALEMBIC_INI
from harness.postgres import free_port
from harness.roles import API_ROLE, as_api_role, as_owner
from migrator.run import MigratorConfig, MigratorRun
from migrator.steps.secrets import new_key_line
from shared_models.logs import LogSettings
from tools.configuration import all_variables

# How long a process's last log lines may wait to be written (shared_models.line_batches),
# with a margin: a test reads a log after it.
LOG_BATCH_WAIT = LogSettings.model_fields["log_batch_seconds"].default + 0.15

# Everything the services read; a developer's shell must not leak it into a test.
SERVICE_VARIABLES = {
    name
    for variable in all_variables()
    if variable.section != "compose"
    for name in (variable.name, f"{variable.name}_FILE")
}
# gunicorn's configuration, as the api image names it. The tests use one that also saves
# the workers' coverage (tests/conftest.py): use_gunicorn_config.
PRODUCTION_GUNICORN_CONFIG = "python:api.gunicorn_conf"
gunicorn_config = PRODUCTION_GUNICORN_CONFIG


def use_gunicorn_config(config: str) -> None:
    global gunicorn_config
    gunicorn_config = config


# A test's or a benchmark's load is not a person: it writes faster than two writes a
# second (WRITES_PER_ACCOUNT) and, all from one address, makes more than 20 accounts an
# hour and 30 logins a minute (PROXY_SIGNUPS_PER_ADDRESS, PROXY_LOGINS_PER_ADDRESS).
# They are raised for the tests' and benchmarks' servers and stacks unless those set
# them; the tests of those limits set them.
LOAD_LIMITS = {
    "WRITES_PER_ACCOUNT": "1000000",
    "PROXY_SIGNUPS_PER_ADDRESS": "100000",
    "PROXY_LOGINS_PER_ADDRESS": "100000",
}


# Argon2id at the least cost the api accepts (7 MiB, 5 passes, 1 lane: about an eighth
# of the CPU of the shipped 64 MiB, 3 passes, 4 lanes; 25 against 203 ms here). The
# tests' servers hash a password for each of their thousands of users, and the cost is
# not what they test: tests/conftest.py asks for it (use_quick_hashing). The benchmarks
# and every compose stack keep the shipped cost.
QUICK_HASHING = {
    "ARGON2_MEMORY_KIB": "7168",
    "ARGON2_PASSES": "5",
    "ARGON2_LANES": "1",
}
# What each server running_api starts is given before the settings it is asked for.
server_defaults = dict(LOAD_LIMITS)


def use_quick_hashing() -> None:
    server_defaults.update(QUICK_HASHING)


def load_limits(env_file_text: str = "") -> dict[str, str]:
    """LOAD_LIMITS for a stack's shell environment, but for those its env file sets (the
    shell's value would win over the file's)."""
    return {name: value for name, value in LOAD_LIMITS.items() if f"{name}=" not in env_file_text}


def gunicorn_command(config: str | None = None) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", config or gunicorn_config]


def service_env(database_url: URL | None = None, **overrides: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SERVICE_VARIABLES}
    if database_url is not None:
        env["DATABASE_URL"] = database_url.render_as_string(hide_password=False)
    env.update(overrides)
    return env


# The migrator image's entrypoint: alembic's command line, plus `plan`.
MIGRATOR = str(Path(sys.executable).with_name("migrator"))


def alembic_command(ini: Path, *args: str) -> list[str]:
    """The ``migrator`` command line: ``args`` are alembic's subcommands, or ``plan``."""
    return [MIGRATOR, "-c", str(ini), *args]


def migrator_env(database_url: URL | None, **env: str) -> dict[str, str]:
    """The migrator's environment: ``database_url``'s database, reached as the owner."""
    owner_url = as_owner(database_url) if database_url is not None else None
    return service_env(owner_url, **{"API_DB_USER": API_ROLE, **env})


def alembic(
    database_url: URL, *args: str, check: bool = True, ini: Path = ALEMBIC_INI, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the migrator's command line, as the container's entrypoint does (in a fork that
    has its imports: harness.forks), as the schema owner (so the roles step must have run
    on ``database_url``)."""
    result = run_migrator(["-c", str(ini), *args], migrator_env(database_url, **env), timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(
            f"migrator {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def wait_for_http(
    url: str,
    deadline_seconds: float = 30,
    *,
    alive: Callable[[], bool] = lambda: True,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Until ``url`` answers 200; fails early once ``alive()`` says the server is gone."""
    give_up_at = time.monotonic() + deadline_seconds
    while True:
        if not alive():
            raise AssertionError(f"the server exited before {url} answered:\n{describe()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > give_up_at:
            raise AssertionError(
                f"{url} did not answer 200 in {deadline_seconds:g}s:\n{describe()}"
            )
        time.sleep(0.1)


@dataclass
class RunningApi:
    base_url: str
    process: ForkedProcess
    log_path: Path
    metrics_url: str  # /metrics, on METRICS_PORT

    def log(self) -> str:
        """What the server has written, its last batch of lines included."""
        time.sleep(LOG_BATCH_WAIT)
        return self.log_path.read_text(errors="replace")


def start_gunicorn(env: dict[str, str], log_path: Path) -> ForkedProcess:
    """gunicorn as the api image runs it (its CMD), in this environment (in a fork that
    has its imports: harness.forks)."""
    return forks.start_gunicorn(["--config", gunicorn_config], env, log_path)


@contextmanager
def running_api(database_url: URL, log_dir: Path, **env: str) -> Iterator[RunningApi]:
    """gunicorn with the real configuration on a free loopback port, connecting as the
    API role (so ``database_url`` must have been migrated); stopped with SIGTERM."""
    port, metrics_port = free_port(), free_port()
    log_path = log_dir / f"api-{port}.log"
    keys = log_dir / f"token-keys-{port}"
    keys.write_text(new_key_line() + "\n")
    settings = {
        "TOKEN_KEYS_FILE": str(keys),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "METRICS_PORT": str(metrics_port),
        "DRAIN_FILE": str(log_dir / f"draining-{port}"),
        "WEB_CONCURRENCY": "2",
        "ACCESS_LOG": "false",
        "METRICS_DIR": str(log_dir / f"metrics-{port}"),
        **server_defaults,
        **env,
    }
    process = start_gunicorn(service_env(as_api_role(database_url), **settings), log_path)
    api = RunningApi(
        f"http://127.0.0.1:{port}", process, log_path, f"http://127.0.0.1:{metrics_port}/metrics"
    )
    try:
        wait_for_http(
            api.base_url + "/healthz", alive=lambda: process.poll() is None, describe=api.log
        )
        every_worker_started(api, int(settings["WEB_CONCURRENCY"]))
        yield api
    finally:
        stop(process)


def every_worker_started(api: RunningApi, workers: int, within: float = 30) -> None:
    """/healthz answers once one worker is up; a test that signals, kills or counts the
    workers needs them all (one still starting logs no shutdown, writes no metrics file).
    uvicorn's lines are written at once, not batched."""
    give_up_at = time.monotonic() + within
    while api.log_path.read_text(errors="replace").count("Application startup complete") < workers:
        assert api.process.poll() is None, api.log()
        assert time.monotonic() < give_up_at, api.log()
        time.sleep(0.05)


class Stoppable(Protocol):
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...


def stop(process: Stoppable) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def migrate_in_process(database_url: URL, command_name: str, *args: str) -> None:
    """An alembic command on a connection of the caller's: the revisions alone, without the
    migrator's wait, lock, timeouts or grants (programmatic use), and without the start-up
    cost of a process. For tests that run many steps, like the stairway."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            run = MigratorRun(connection=connection, configure_logging=False)
            getattr(command, command_name)(MigratorConfig(str(ALEMBIC_INI), run=run), *args)
            connection.commit()
    finally:
        engine.dispose()


def revision_of(database_url: URL) -> str | None:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
