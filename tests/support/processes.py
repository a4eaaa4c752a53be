"""The real programs, run as the stack runs them: the alembic CLI and the gunicorn server."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = ROOT / "services" / "migrator" / "alembic.ini"
API_DIR = ROOT / "services" / "api"

# The API's row-only role, as the migrator sets it up (cluster-wide, so a test name).
API_ROLE = "test_api"
API_ROLE_PASSWORD = secrets.token_hex(12)

# Variables the services read; a developer's shell must not leak them into a test.
SERVICE_VARIABLE_PREFIXES = ("POSTGRES_", "DATABASE_URL", "DB_", "API_", "GUNICORN_", "MIGRATOR_")


def service_env(database_url: URL | None = None, **overrides: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        # The base images (PYTHON_IMAGE, POSTGRES_IMAGE) are for builds; they stay.
        if not name.startswith(SERVICE_VARIABLE_PREFIXES) or name.endswith("_IMAGE")
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url.render_as_string(hide_password=False)
    env.update(overrides)
    return env


def alembic_command(ini: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "alembic", "-c", str(ini), *args]


def migrator_env(database_url: URL | None, **env: str) -> dict[str, str]:
    return service_env(
        database_url, **{"API_DB_USER": API_ROLE, "API_DB_PASSWORD": API_ROLE_PASSWORD, **env}
    )


def alembic(
    database_url: URL, *args: str, check: bool = True, ini: Path = ALEMBIC_INI, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the migrator's alembic command line, exactly as the container's entrypoint does."""
    result = subprocess.run(
        alembic_command(ini, *args),
        env=migrator_env(database_url, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"alembic {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def as_api_role(database_url: URL) -> URL:
    """The same database, reached as the API's row-only role."""
    return database_url.set(username=API_ROLE, password=API_ROLE_PASSWORD)


@dataclass
class RunningApi:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_api(database_url: URL, log_dir: Path, **env: str) -> Iterator[RunningApi]:
    """gunicorn with the real gunicorn.conf.py on a free loopback port, connecting as the
    API role (so ``database_url`` must have been upgraded by ``alembic``); stopped with SIGTERM."""
    port = free_port()
    log_path = log_dir / f"api-{port}.log"
    settings = {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_ACCESS_LOG": "false",
        **env,
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(API_DIR / "gunicorn.conf.py")],
            cwd=API_DIR,
            env=service_env(as_api_role(database_url), **settings),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    api = RunningApi(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_for_http(api, "/healthz")
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_http(api: RunningApi, path: str, deadline_seconds: float = 30) -> None:
    give_up_at = time.monotonic() + deadline_seconds
    while True:
        if api.process.poll() is not None:
            raise AssertionError(f"the API exited with {api.process.returncode}:\n{api.log()}")
        try:
            if httpx.get(api.base_url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > give_up_at:
            raise AssertionError(f"the API did not answer {path} in time:\n{api.log()}")
        time.sleep(0.1)


def migrate_in_process(database_url: URL, command_name: str, *args: str) -> None:
    """An alembic command on a connection of the caller's: the revisions alone, without the
    migrator's wait, lock, timeouts or role (programmatic use), and without the start-up
    cost of a process. For tests that run many steps, like the stairway."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["configure_logger"] = False
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            getattr(command, command_name)(config, *args)
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
