"""What a password's hash costs is the operator's to set (PASSWORD_HASH_*), never below
OWASP's cheapest recommended Argon2id; a hash keeps the cost it was made with, so
passwords set before a change still log in."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import QUICK_HASHING, RunningApi, gunicorn_command, running_api, service_env
from harness.roles import as_owner
from tests.api.factories import create_user, log_in

SHIPPED = {"ARGON2_MEMORY_KIB": "65536", "ARGON2_PASSES": "3", "ARGON2_LANES": "4"}


def argon2id_prefix(cost: dict[str, str]) -> str:
    """How a hash made at ``cost`` starts (PHC string format)."""
    memory, passes, lanes = (cost[f"ARGON2_{name}"] for name in ("MEMORY_KIB", "PASSES", "LANES"))
    return f"$argon2id$v=19$m={memory},t={passes},p={lanes}$"


def stored_hash(database: URL, user_id: int) -> str:
    with connect(as_owner(database)) as connection:
        row = connection.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,))
        (digest,) = row.fetchone() or ("",)
    return str(digest)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"ARGON2_MEMORY_KIB": "4096"}, "ARGON2_MEMORY_KIB"),
        ({"ARGON2_PASSES": "0"}, "ARGON2_PASSES"),
        (
            {"ARGON2_MEMORY_KIB": "8192", "ARGON2_PASSES": "1"},
            "ARGON2_MEMORY_KIB times ARGON2_PASSES must be at least 35840",
        ),
    ],
    ids=["too little memory", "no pass", "too little memory times passes"],
)
def test_a_cost_below_the_least_recommended_stops_the_server_naming_it(
    settings: dict[str, str], named: str
) -> None:
    result = subprocess.run(
        gunicorn_command(), env=service_env(None, API_DB_PASSWORD="unused", **settings),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert named in result.stderr, result.stderr


def test_hashes_are_made_at_the_cost_set_and_older_ones_still_log_in(
    api_server: RunningApi, api_database: URL, tmp_path: Path
) -> None:
    with httpx.Client(base_url=api_server.base_url, timeout=30) as client:
        before = create_user(client)
    assert stored_hash(api_database, before["id"]).startswith(argon2id_prefix(QUICK_HASHING))

    # The operator raises the cost (to the shipped one): new hashes cost that, and the
    # passwords stored before still log in.
    with (
        running_api(api_database, tmp_path, **SHIPPED) as raised,
        httpx.Client(base_url=raised.base_url, timeout=30) as client,
    ):
        assert log_in(client, before["username"])
        after = create_user(client)
        assert log_in(client, after["username"])
    shipped = argon2id_prefix(SHIPPED)
    assert shipped == "$argon2id$v=19$m=65536,t=3,p=4$"  # the cost as shipped, said once
    assert stored_hash(api_database, after["id"]).startswith(shipped)
