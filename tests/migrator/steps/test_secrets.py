"""migrator.steps.secrets: each password made once, readable only by the services that
need it, in a directory only its owner may write to."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from api.accounts.tokens import read_keys
from migrator.steps.secrets import SECRETS, TOKEN_KEYS, ensure, ensure_token_keys, read_assignments


@pytest.fixture(autouse=True)
def as_root() -> None:
    """The step gives each file to another user (chown), which only root may do: skip
    otherwise, except in CI, where these tests must run (as with_docker_or_skip does)."""
    if os.geteuid() == 0:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"CI must run the secrets step's tests, which chown files, as root; uid {os.geteuid()}"
        )
    pytest.skip("the secrets step gives files to other users (chown), which only root may do")


def test_each_password_is_made_once_and_kept(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    assert ensure(directory, {}) == [f"created {secret.file}" for secret in SECRETS]
    first = {secret.file: (directory / secret.file).read_text() for secret in SECRETS}
    assert all(len(value) >= 40 for value in first.values())
    assert len(set(first.values())) == len(SECRETS)  # one per role

    assert ensure(directory, {}) == []  # a second run changes nothing
    assert {secret.file: (directory / secret.file).read_text() for secret in SECRETS} == first


def test_each_file_belongs_to_its_reader_and_the_roles_group_only(tmp_path: Path) -> None:
    ensure(tmp_path, {})
    for secret in SECRETS:
        info = (tmp_path / secret.file).stat()
        assert (info.st_uid, info.st_gid) == (secret.owner_uid, secret.reader_gid)
        assert stat.S_IMODE(info.st_mode) == 0o440
    # A file loosened by hand is tightened again on the next run.
    (tmp_path / SECRETS[0].file).chmod(0o644)
    ensure(tmp_path, {})
    assert stat.S_IMODE((tmp_path / SECRETS[0].file).stat().st_mode) == 0o440


def test_import_sets_the_passwords_given_on_standard_input(tmp_path: Path) -> None:
    ensure(tmp_path, {})
    old_env = io.StringIO(
        "POSTGRES_USER=app\nPOSTGRES_PASSWORD='from-old-env'\nAPI_DB_PASSWORD=also-old\n"
        "API_DB_USER=app_api\nOWNER_DB_PASSWORD=\n"
    )
    given = read_assignments(old_env)
    assert given == {"POSTGRES_PASSWORD": "from-old-env", "API_DB_PASSWORD": "also-old"}
    done = ensure(tmp_path, given)
    assert "set postgres_password from POSTGRES_PASSWORD" in done
    assert (tmp_path / "postgres_password").read_text() == "from-old-env"
    assert (tmp_path / "api_db_password").read_text() == "also-old"


def test_the_directory_is_writable_by_its_owner_alone(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    ensure(directory, {})
    mode = stat.S_IMODE(directory.stat().st_mode)
    # Anyone may list the names, which are no secret; only the step may add or replace one.
    assert mode == 0o755, oct(mode)
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH)
    # A directory loosened by hand (or a volume made so) is tightened again on the next run.
    directory.chmod(0o777)
    ensure(directory, {})
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755, oct(directory.stat().st_mode)


def test_the_token_keys_are_made_once_and_a_rotation_keeps_the_previous(tmp_path: Path) -> None:
    """The api's signing keys: made once; a rotation puts a new key first and keeps the
    one before it (its tokens stay valid until they expire), never more than two."""
    tmp_path.chmod(0o755)
    path = tmp_path / TOKEN_KEYS.file
    assert ensure_token_keys(tmp_path).startswith("created")
    first = read_keys(path)
    assert ensure_token_keys(tmp_path) == ""
    assert read_keys(path) == first
    ensure_token_keys(tmp_path, rotate=True)
    second = read_keys(path)
    assert list(second)[1:] == list(first)
    assert len(next(iter(second.values()))) >= 43  # 256 bits, urlsafe base64
    ensure_token_keys(tmp_path, rotate=True)
    assert list(read_keys(path))[1:] == list(second)[:1]
    mode = stat.S_IMODE(path.stat().st_mode)
    assert (mode, path.stat().st_uid) == (0o440, TOKEN_KEYS.owner_uid)
