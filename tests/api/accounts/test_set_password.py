"""``make set-password``'s command, as the api's database role against the real database,
then the real app logging in with what it set."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import URL

from harness.processes import RunningApi, service_env
from tests.api.factories import (
    PASSWORD,
    bearer,
    create_user,
    log_in,
    unique,
    user_before_accounts,
)

COMMAND = [sys.executable, "-m", "api.accounts.set_password"]


@pytest.fixture
def anonymous(api_server: RunningApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.base_url, timeout=30) as http:
        yield http


def set_password(
    api_database: URL, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env=service_env(api_database), input=stdin,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_user_made_before_accounts_logs_in_with_the_printed_password(
    anonymous: httpx.Client, api_database: URL
) -> None:
    name = user_before_accounts(api_database)
    result = set_password(api_database, name)
    assert result.returncode == 0, result.stderr
    password = result.stdout.split("password is now: ", 1)[1].split()[0]
    assert len(password) == 24
    assert anonymous.post("/token", data={"username": name, "password": password}).is_success


def test_a_password_from_stdin_ends_every_earlier_token(
    anonymous: httpx.Client, api_database: URL
) -> None:
    user = create_user(anonymous)
    before = log_in(anonymous, user["username"])
    # Any spelling of the name finds the user, as a login does.
    result = set_password(
        api_database, "--stdin", user["username"].upper(), stdin="new passphrase 42\n"
    )
    assert result.returncode == 0, result.stderr
    assert "new passphrase 42" not in result.stdout + result.stderr
    patched = anonymous.patch(f"/users/{user['id']}", json={"bio": "x"}, headers=bearer(before))
    assert patched.status_code == 401
    assert log_in(anonymous, user["username"], "new passphrase 42")


def test_a_refused_password_or_an_unknown_user_changes_nothing(
    anonymous: httpx.Client, api_database: URL
) -> None:
    user = create_user(anonymous)
    common = set_password(api_database, "--stdin", user["username"], stdin="baseball\n")
    assert (common.returncode, common.stdout) == (2, "")
    assert "most common passwords" in common.stderr
    assert "baseball" not in common.stderr
    unknown = set_password(api_database, unique("nobody"))
    assert unknown.returncode == 1
    assert "no user is named" in unknown.stderr
    assert log_in(anonymous, user["username"], PASSWORD)


def test_a_database_it_cannot_reach_is_said_in_one_line(api_database: URL) -> None:
    nowhere = api_database.set(host="127.0.0.1", port=1)
    result = set_password(nowhere, "someone")
    assert result.returncode == 1
    assert result.stderr.startswith("set-password: the database refused or cannot be reached")
