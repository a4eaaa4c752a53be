"""End to end: the real compose stack, built and run as a user runs it, under its own name.

Uses compose.yaml alone (what production runs), its own project name and host port,
and an env file made from .env.example, so it never touches a stack you have running.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import free_port
from tests.support.processes import ROOT, service_env
from tests.support.revisions import BASE_REVISION, BIO_REVISION, HEAD_REVISION

pytestmark = pytest.mark.e2e


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


class Stack:
    def __init__(self, env_file: Path, port: int) -> None:
        self.project = f"e2e-{secrets.token_hex(4)}"
        self.env_file = env_file
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = service_env(API_PORT=str(port))

    def compose(
        self, *args: str, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "-p", self.project, "-f", "compose.yaml",
                   "--env-file", str(self.env_file), *args]  # fmt: skip
        result = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            logs = subprocess.run(
                [*command[: command.index("--env-file") + 2], "logs", "--no-color"],
                cwd=ROOT, env=self.env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            raise AssertionError(
                f"docker compose {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n--- logs ---\n{logs.stdout}"
            )
        return result

    def container_state(self, service: str) -> dict[str, object]:
        container_id = self.compose("ps", "-a", "-q", service).stdout.strip()
        inspected = subprocess.run(
            ["docker", "inspect", container_id], capture_output=True, text=True, check=True
        )
        state: dict[str, object] = json.loads(inspected.stdout)[0]["State"]
        return state

    def migrator(self, *args: str) -> str:
        result = self.compose("run", "--rm", "migrator", *args)
        return result.stdout + result.stderr

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["docker", "compose", "-p", self.project, "-f", "compose.yaml",
             "--env-file", str(self.env_file), *args],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not docker_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the end-to-end suite, but Docker is not available")
        pytest.skip(
            'Docker is not available (sandbox: eval "$(../shared/docker-sandbox/setup --env)")'
        )
    env_file = tmp_path_factory.mktemp("e2e") / ".env"
    example = (ROOT / ".env.example").read_text()
    for name in ("POSTGRES_PASSWORD", "API_DB_PASSWORD"):
        assert f"\n{name}=\n" in example, f".env.example lost its {name} line"
        example = example.replace(f"\n{name}=\n", f"\n{name}={secrets.token_hex(16)}\n")
    env_file.write_text(example)
    stack = Stack(env_file, free_port())
    try:
        stack.compose("up", "--build", "--wait")
        yield stack
    finally:
        stack.compose("down", "-v", "--rmi", "local", "--remove-orphans", check=False)


def started(state: dict[str, object], key: str) -> datetime:
    return datetime.fromisoformat(str(state[key]).replace("Z", "+00:00")[:26] + "+00:00")


def test_migrator_ran_once_and_exited_0_before_the_api_started(stack: Stack) -> None:
    migrator, api = stack.container_state("migrator"), stack.container_state("api")
    assert migrator["Status"] == "exited"
    assert migrator["ExitCode"] == 0
    assert api["Status"] == "running"
    assert started(api, "StartedAt") >= started(migrator, "FinishedAt")
    assert httpx.get(stack.base_url + "/readyz", timeout=10).status_code == 200


def test_the_readme_flow_keeps_data_across_migrations_and_restarts(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        user = client.post("/users", json={"username": "ada", "email": "ada@example.com"})
        assert user.status_code == 201, user.text
        user_id = user.json()["id"]
        post = client.post(f"/users/{user_id}/posts", json={"title": "Hi", "content": "First"})
        assert post.status_code == 201, post.text

    assert f"Running downgrade {HEAD_REVISION} -> {BIO_REVISION}" in stack.migrator(
        "downgrade", "-1"
    )
    assert BIO_REVISION in stack.migrator("current")
    assert f"Running upgrade {BIO_REVISION} -> {HEAD_REVISION}" in stack.migrator("upgrade", "head")
    assert f"{HEAD_REVISION} (head)" in stack.migrator("current")
    assert "No new upgrade operations detected" in stack.migrator("check")

    stack.compose("down")  # no -v: the named volume keeps the data
    stack.compose("up", "--wait")
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        assert client.get(f"/users/{user_id}").json()["username"] == "ada"
        assert [p["title"] for p in client.get(f"/users/{user_id}/posts").json()] == ["Hi"]


def test_two_migrators_run_at_once_both_exit_0_and_apply_once(stack: Stack) -> None:
    stack.migrator("downgrade", "-1")
    migrators = [stack.popen("run", "--rm", "migrator", "upgrade", "head") for _ in range(2)]
    outputs = [migrator.communicate(timeout=300)[0] for migrator in migrators]
    assert [migrator.returncode for migrator in migrators] == [0, 0], outputs
    assert "\n".join(outputs).count(f"Running upgrade {BIO_REVISION} -> {HEAD_REVISION}") == 1
    assert f"{HEAD_REVISION} (head)" in stack.migrator("current")


def test_api_serves_while_a_migration_waits_on_a_held_lock(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        user = client.post("/users", json={"username": "lock", "email": "lock@example.com"})
        user_id = user.json()["id"]
        stack.migrator("downgrade", BASE_REVISION)  # "add user bio" (ALTER TABLE users) pending

        # A long transaction that has read users, as a report or a stuck job would.
        blocker = stack.popen(
            "exec", "-T", "db", "sh", "-c",
            'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c'
            ' "SELECT count(*) FROM users; SELECT pg_sleep(15)"',
        )  # fmt: skip
        time.sleep(1)
        migrator = stack.popen(
            "run", "--rm", "-e", "MIGRATOR_LOCK_TIMEOUT=1", "-e", "MIGRATOR_LOCK_RETRIES=10",
            "migrator", "upgrade", "head",
        )  # fmt: skip
        latencies, statuses = [], []
        while blocker.poll() is None:
            started = time.monotonic()
            # Reads users (is the author there?): it would queue behind the ALTER.
            statuses.append(client.get(f"/users/{user_id}/posts").status_code)
            latencies.append(time.monotonic() - started)
        output, _ = migrator.communicate(timeout=300)

        assert migrator.returncode == 0, output
        assert "lock timeout (attempt 1" in output
        assert set(statuses) == {200}
        print(
            f"\ncompose: {len(latencies)} requests while the migration waited on a held lock: "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms (MIGRATOR_LOCK_TIMEOUT=1s)"
        )
        assert max(latencies) < 3
        assert client.get(f"/users/{user_id}").json()["username"] == "lock"
