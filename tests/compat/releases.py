"""Older code of this repository, built into images the way users build them (compose),
and run against a test database: what the compatibility and upgrade tests start."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from harness.paths import ROOT
from harness.postgres import free_port
from harness.processes import wait_for_http
from harness.revisions import SCRIPTS
from harness.roles import as_api_role
from migrator.steps.secrets import new_key_line
from tests.support.docker import with_docker_or_skip

# The head revision of the release users run today: the upgrade test starts from its
# code and schema. Bump it when a release ships.
PREVIOUS_RELEASE_HEAD = "c5b7e2f91d3a"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit_before(path: Path) -> str:
    """The commit just before ``path`` was first added to the repository."""
    added = git("log", "--diff-filter=A", "--format=%H", "--", str(path.relative_to(ROOT)))
    if not added:
        pytest.fail(f"{path.name} is not committed: commit it, then run the check")
    first_added = added.splitlines()[-1]
    if git("rev-list", "--max-parents=0", "HEAD") == first_added:
        pytest.skip("the newest revision came with the first commit: no code before it")
    return git("rev-parse", f"{first_added}^")


def previous_release_commit() -> str:
    """The commit before the first revision after PREVIOUS_RELEASE_HEAD was added: the
    last code whose head was PREVIOUS_RELEASE_HEAD."""
    (first_new,) = [
        script
        for script in SCRIPTS.walk_revisions()
        if script.down_revision == PREVIOUS_RELEASE_HEAD
    ]
    return commit_before(Path(first_new.path))


@dataclass(frozen=True)
class OldApi:
    image: str
    commit: str


def build_api_image(commit: str, workdir: Path) -> OldApi:
    """The api image of ``commit``, from that commit's files, built by compose."""
    with_docker_or_skip()
    if git("rev-parse", "--is-shallow-repository") == "true":
        pytest.fail("the check needs the history: fetch it (git fetch --unshallow)")
    archive = workdir / "code.tar"
    subprocess.run(["git", "archive", "--output", str(archive), commit], cwd=ROOT, check=True)
    with tarfile.open(archive) as code:
        code.extractall(workdir / "src", filter="data")
    project = f"compat-{commit[:12]}"
    subprocess.run(
        ["docker", "compose", "-p", project, "-f", "compose.yaml", "build", "--quiet", "api"],
        cwd=workdir / "src", check=True, capture_output=True,
        # Older compose files insist on passwords just to render; a build never uses them.
        env={**os.environ, "POSTGRES_PASSWORD": "build", "API_DB_PASSWORD": "build"},
    )  # fmt: skip
    return OldApi(f"{project}-api", commit)


def remove_image(api: OldApi) -> None:
    subprocess.run(["docker", "rmi", "-f", api.image], capture_output=True, check=False)


@dataclass
class RunningOldApi:
    base_url: str
    started: float
    logs: str = ""


@contextmanager
def running_old_api(api: OldApi, database: URL) -> Iterator[RunningOldApi]:
    """``api``'s image serving ``database`` as the API role, on a port of this host; its
    log is in ``logs`` once it stopped."""
    port = free_port()
    name = f"compat-{secrets.token_hex(4)}"
    database_url = as_api_role(database).set(drivername="postgresql")
    # A release with accounts will not start without its token keys; one before ignores
    # the setting.
    keys = Path(tempfile.mkdtemp(prefix="compat-keys-"))
    keys.chmod(0o755)
    (keys / "token_signing_keys").write_text(new_key_line() + "\n")
    (keys / "token_signing_keys").chmod(0o644)
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "--network", "host",
         "-v", f"{keys}:/run/compat-keys:ro",
         "-e", "TOKEN_KEYS_FILE=/run/compat-keys/token_signing_keys",
         "-e", f"DATABASE_URL={database_url.render_as_string(hide_password=False)}",
         "-e", f"GUNICORN_BIND=127.0.0.1:{port}", "-e", "WEB_CONCURRENCY=1", api.image],
        check=True, capture_output=True,
    )  # fmt: skip
    running = RunningOldApi(f"http://127.0.0.1:{port}", time.monotonic())
    try:
        wait_for_http(f"{running.base_url}/healthz", deadline_seconds=60)
        yield running
    finally:
        running.logs = subprocess.run(
            ["docker", "logs", name], capture_output=True, text=True
        ).stderr
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        shutil.rmtree(keys, ignore_errors=True)
