"""End to end: the real compose stack, built and run as a user runs it, under its own name.

Uses compose.yaml alone (what production runs) with no .env at all, as in a fresh clone,
its own project name and host port, so it never touches a stack you have running.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from harness.compose import ComposeProject
from harness.load import percentile
from harness.revisions import BEFORE_HEAD, HEAD_REVISION
from tests.api.factories import bearer, log_in, user_body
from tests.support.scratch_migrations import ScratchMigrations

pytestmark = pytest.mark.e2e

# psql in the db container, as the superuser, on the application's database.
PSQL = 'psql -U "${POSTGRES_USER:-postgres}" -d app -v ON_ERROR_STOP=1'


def started(state: dict[str, object], key: str) -> datetime:
    return datetime.fromisoformat(str(state[key]).replace("Z", "+00:00")[:26] + "+00:00")


def test_each_step_ran_once_and_exited_0_before_the_next_started(stack: ComposeProject) -> None:
    order = ["secrets", "roles", "migrator"]
    states = {service: stack.state(service) for service in [*order, "api"]}
    for service in order:
        assert states[service]["Status"] == "exited", service
        assert states[service]["ExitCode"] == 0, service
    for earlier, later in zip(order, [*order[1:], "api"], strict=True):
        assert started(states[later], "StartedAt") >= started(states[earlier], "FinishedAt")
    assert states["api"]["Status"] == "running"
    assert httpx.get(stack.base_url + "/readyz", timeout=10).status_code == 200


def container_log(stack: ComposeProject, container: str) -> str:
    logs = subprocess.run(
        ["docker", "logs", container], env=stack.env, capture_output=True, text=True, check=False
    )
    return logs.stdout + logs.stderr


def test_the_api_starts_no_more_workers_than_its_memory_holds_hashing(
    stack: ComposeProject,
) -> None:
    """compose.yaml's api has 768 MiB; half of it holds three workers' two 64 MiB hashes
    at once. Eight set by hand stop it before a worker forks, naming what to change."""
    refused = stack("run", "--rm", "--no-deps", "-T", "-e", "WEB_CONCURRENCY=8", "api",
                    check=False, timeout=120)  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert "api: invalid configuration: WEB_CONCURRENCY (8) times ARGON2_HASHES_AT_ONCE" in said
    assert "the container's 768 MiB: at most 3 workers fit" in said

    # Left to its default (one a CPU, 2 or more here), and a cost of which one worker's
    # hash fills the half: one worker starts, and the api says why.
    started = stack("run", "-d", "--no-deps", "-e", "ARGON2_MEMORY_KIB=393216",
                    "-e", "ARGON2_HASHES_AT_ONCE=1", "api", timeout=120)  # fmt: skip
    container = started.stdout.split()[-1]
    try:
        deadline, log = time.monotonic() + 60, ""
        while "Booting worker" not in log and time.monotonic() < deadline:
            time.sleep(0.5)
            log = container_log(stack, container)
        assert "workers: 1, not one for each of" in log, log
        time.sleep(2)  # a second worker, if one were coming, would have booted
        assert container_log(stack, container).count("Booting worker") == 1, log
    finally:
        subprocess.run(["docker", "rm", "-f", container], env=stack.env,
                       capture_output=True, check=False)  # fmt: skip


def test_the_readme_flow_keeps_data_across_migrations_and_restarts(stack: ComposeProject) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        user = client.post("/users", json=user_body(username="ada", email="ada@example.com"))
        assert user.status_code == 201, user.text
        user_id = user.json()["id"]
        token = bearer(log_in(client, "ada"))
        post = client.post(
            f"/users/{user_id}/posts", json={"title": "Hi", "content": "First"}, headers=token
        )
        assert post.status_code == 201, post.text

    downgraded = stack.run("migrator", "downgrade", "-1")
    assert f"Running downgrade {HEAD_REVISION} -> {BEFORE_HEAD}" in downgraded
    assert BEFORE_HEAD in stack.run("migrator", "current")
    # `make plan`: the pending revision, found on the scratch database the roles step made.
    plan = stack("run", "--rm", "-T", "migrator", "plan")
    assert f"is at {BEFORE_HEAD}; head is {HEAD_REVISION}: 1 revision(s)" in plan.stdout
    assert "Verdict: safe" in plan.stdout, plan.stdout + plan.stderr
    as_json = json.loads(stack("run", "--rm", "-T", "migrator", "plan", "--json").stdout)
    assert (as_json["current"], as_json["heads"]) == ([BEFORE_HEAD], [HEAD_REVISION])
    assert [revision["revision"] for revision in as_json["revisions"]] == [HEAD_REVISION]
    upgraded = stack.run("migrator", "upgrade", "head")
    assert f"Running upgrade {BEFORE_HEAD} -> {HEAD_REVISION}" in upgraded
    assert f"{HEAD_REVISION} (head)" in stack.run("migrator", "current")
    assert "No new upgrade operations detected" in stack.run("migrator", "check")

    stack("down")  # no -v: the named volumes keep the data and the passwords
    stack("up", "--wait")
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        assert client.get(f"/users/{user_id}").json()["username"] == "ada"
        assert [p["title"] for p in client.get(f"/users/{user_id}/posts").json()] == ["Hi"]


def test_two_migrators_run_at_once_both_exit_0_and_apply_once(stack: ComposeProject) -> None:
    stack.run("migrator", "downgrade", "-1")
    migrators = [stack.popen("run", "--rm", "migrator", "upgrade", "head") for _ in range(2)]
    outputs = [migrator.communicate(timeout=300)[0] for migrator in migrators]
    assert [migrator.returncode for migrator in migrators] == [0, 0], outputs
    applied = f"Running upgrade {BEFORE_HEAD} -> {HEAD_REVISION}"
    assert "\n".join(outputs).count(applied) == 1
    assert f"{HEAD_REVISION} (head)" in stack.run("migrator", "current")


def sleeping(stack: ComposeProject, call: str) -> bool:
    """Whether another session runs a statement containing ``call``."""
    query = (
        f"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{call}%'"
        " AND pid <> pg_backend_pid()"
    )
    found = stack("exec", "-T", "db", "sh", "-c", f'{PSQL} -tAc "{query}"').stdout
    return found.strip() != "0"


def test_api_serves_while_a_migration_waits_on_a_held_lock(
    stack: ComposeProject, tmp_path: Path
) -> None:
    """An expand revision (a nullable column on users) waits behind a long transaction
    that has read users, as a report or a stuck job would: the api, whose code works
    with the schema before and after it, goes on serving through the proxy."""
    scratch = ScratchMigrations(tmp_path)
    scratch.add_revision(
        "e2e0a55e0001",
        'op.add_column("users", sa.Column("nickname", sa.Text(), nullable=True))',
        'op.drop_column("users", "nickname")',
    )
    for path in [tmp_path, *tmp_path.rglob("*")]:  # the migrator runs as its own user
        path.chmod(0o755 if path.is_dir() else 0o644)
    override = tmp_path / "pending-revision.yaml"
    mount = f"{tmp_path / 'migrations'}:/app/migrations:ro"
    override.write_text(f"services:\n  migrator:\n    volumes:\n      - {mount}\n")
    with_revision = stack.with_file(override)
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        user = client.post("/users", json=user_body(username="lock", email="lock@example.com"))
        user_id = user.json()["id"]
        blocker = stack.popen(
            "exec", "-T", "db", "sh", "-c",
            f'{PSQL} -c "SELECT count(*) FROM users; SELECT pg_sleep(15)"',
        )  # fmt: skip
        # The blocker holds its lock on users once it sleeps (docker exec may start late).
        give_up_at = time.monotonic() + 30
        while not sleeping(stack, "pg_sleep(15)"):
            assert time.monotonic() < give_up_at, "the blocking transaction never started"
            time.sleep(0.2)
        migrator = with_revision.popen(
            "run", "--rm", "-e", "MIGRATOR_LOCK_TIMEOUT=1", "-e", "MIGRATOR_LOCK_RETRIES=10",
            "migrator", "upgrade", "head",
        )  # fmt: skip
        latencies, statuses = [], []
        while blocker.poll() is None:
            started_at = time.monotonic()
            # Reads users (is the author there?): it would queue behind the ALTER.
            statuses.append(client.get(f"/users/{user_id}/posts").status_code)
            latencies.append(time.monotonic() - started_at)
        output, _ = migrator.communicate(timeout=300)
        try:
            assert migrator.returncode == 0, output
            assert "lock timeout (attempt 1" in output
            assert set(statuses) == {200}
            print(
                f"\ncompose: {len(latencies)} requests while the migration waited on a held "
                f"lock: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms (MIGRATOR_LOCK_TIMEOUT=1s)"
            )
            assert max(latencies) < 3
            assert client.get(f"/users/{user_id}").json()["username"] == "lock"
        finally:
            with_revision.run("migrator", "downgrade", "-1")  # the stack back at head
