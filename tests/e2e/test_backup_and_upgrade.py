"""Through the README's own make targets, each on a stack of its own: a backup restored
into new volumes serves the same rows, and a volume and .env from before the secrets
volume and the owner role upgrade cleanly on the next `make up`."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.compose import ComposeProject
from harness.paths import ROOT
from harness.revisions import HEAD_REVISION
from tests.api.factories import bearer, log_in, user_body
from tests.support.docker import with_docker_or_skip
from tests.support.logs import log_lines

pytestmark = pytest.mark.e2e

PATHS = ("/users", "/posts")
OWNERS = "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"


def make(
    stack: ComposeProject, *targets: str, check: bool = True, **variables: str
) -> subprocess.CompletedProcess[str]:
    """A Makefile target, run against this stack (its project, file and env file)."""
    command = [
        "make", "--no-print-directory", *targets,
        f"COMPOSE={shlex.join(stack.command)}", f"ENV_FILE={stack.env_file}",
        *(f"{name}={value}" for name, value in variables.items()),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=900, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"make {' '.join(targets)}:\n{result.stdout}{result.stderr}")
    return result


def psql(stack: ComposeProject, sql: str, user: str = "${POSTGRES_USER:-postgres}") -> str:
    command = f'psql -U "{user}" -d app -v ON_ERROR_STOP=1 -Atc "{sql}"'
    return stack("exec", "-T", "db", "sh", "-c", command).stdout.strip()


def everything(base_url: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return {path: client.get(path, params={"limit": 100}).json() for path in PATHS}


@pytest.fixture
def fresh_stack() -> Iterator[ComposeProject]:
    with_docker_or_skip()
    stack = ComposeProject(prefix="e2e-backup")
    try:
        yield stack
    finally:
        stack.remove()


def test_a_backup_restored_into_new_volumes_serves_the_same_rows(
    fresh_stack: ComposeProject, tmp_path: Path
) -> None:
    stack = fresh_stack
    stack("up", "--build", "--wait")
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        for i in range(5):
            user = client.post("/users", json=user_body(username=f"kept{i}", email=f"k{i}@x.org"))
            client.post(
                f"/users/{user.json()['id']}/posts",
                json={"title": "t", "content": "c"},
                headers=bearer(log_in(client, f"kept{i}")),
            )
    before = everything(stack.base_url)

    make(stack, "backup", BACKUPS=str(tmp_path))
    (dump,) = tmp_path.glob("app-*.dump")
    assert (tmp_path / dump.name.replace(".dump", ".roles.sql")).read_text().count("CREATE ROLE")

    stack("down", "-v")  # the data and the passwords are gone
    restored = make(stack, "restore", f"file={dump}")
    assert "new volume" not in restored.stdout

    assert everything(stack.base_url) == before
    assert f"{HEAD_REVISION} (head)" in stack.run("migrator", "current")
    done = [line for line in log_lines(stack.service_log("migrator")) if "outcome" in line]
    assert (done[-1]["outcome"], done[-1]["revisions"]) == ("succeeded", 0)  # a no-op at head
    # The restored tables belong to the owner, not to the superuser who restored them.
    assert psql(stack, OWNERS) == "app_owner"

    # Restoring over data is refused, with the way out.
    refused = make(stack, "restore", f"file={dump}", check=False)
    assert refused.returncode != 0
    assert "restore goes into a new volume" in refused.stdout + refused.stderr


# The .env `make up` wrote before passwords moved out of it (and the superuser was `app`).
OLD_ENV = """\
POSTGRES_USER=app
POSTGRES_PASSWORD=old-superuser-password-0123456789
POSTGRES_DB=app
API_DB_USER=app_api
API_DB_PASSWORD=old-api-password-0123456789
"""
# What the stack looked like then: the superuser's password in its environment...
OLD_DB = """\
services:
  db:
    environment:
      POSTGRES_PASSWORD: old-superuser-password-0123456789
      POSTGRES_PASSWORD_FILE: !reset null
"""


def test_a_volume_and_env_file_from_before_upgrade_on_the_next_make_up(
    fresh_stack: ComposeProject, tmp_path: Path
) -> None:
    stack = fresh_stack
    stack.env_file.write_text(OLD_ENV)
    old_db = tmp_path / "old-db.yaml"
    old_db.write_text(OLD_DB)
    then = stack.with_file(old_db)
    # (The secrets step ran then too: the migrator of that stack reads the volume.)
    then("run", "--rm", "--no-deps", "secrets")
    then("up", "-d", "--wait", "db")
    # ...the API's role made by the migrator, which ran as that superuser and owned it all.
    psql(stack, "CREATE ROLE app_api LOGIN PASSWORD 'old-api-password-0123456789'", user="app")
    superuser_url = "postgresql://app:old-superuser-password-0123456789@db:5432/app"
    then("run", "--rm", "--no-deps", "-e", f"DATABASE_URL={superuser_url}", "migrator")
    psql(
        stack,
        "INSERT INTO users (username, username_key, email)"
        " VALUES ('veteran', 'veteran', 'v@x.org')",
        user="app",
    )
    assert psql(stack, OWNERS, user="app") == "app"
    then("stop")

    upgraded = make(stack, "up")

    assert "moved the passwords from" in upgraded.stdout
    env_file = stack.env_file.read_text()
    assert "PASSWORD" not in env_file
    assert "POSTGRES_USER=app" in env_file  # every other setting kept
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        (user,) = [u for u in client.get("/users").json() if u["username"] == "veteran"]
        assert client.get(f"/users/{user['id']}").status_code == 200
        rookie = client.post("/users", json=user_body(username="rookie", email="r@x.org"))
        assert rookie.status_code == 201, rookie.text
    assert psql(stack, OWNERS, user="app") == "app_owner"
    for container in stack.container_ids():
        assert "old-superuser-password" not in json.dumps(stack.inspect(container)["Config"])
