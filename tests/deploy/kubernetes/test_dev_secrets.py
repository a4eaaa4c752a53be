"""`make kube-dev-secrets`: random passwords for the dev overlay, written once, private,
and never committed."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

from api.accounts.tokens import read_keys
from migrator.steps import secrets as compose_secrets
from tests.deploy.kubernetes.manifests import DEPLOY, DEV_SECRETS_SCRIPT
from tests.deploy.kubernetes.settings import COMPOSE_ONLY_PASSWORDS

SECRETS = [s for s in compose_secrets.SECRETS if s.variable not in COMPOSE_ONLY_PASSWORDS]


def run_script(tree: Path) -> str:
    result = subprocess.run(
        ["sh", str(tree / DEV_SECRETS_SCRIPT)], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_it_writes_each_password_once_random_and_private(tmp_path: Path) -> None:
    tree = tmp_path / "kubernetes"
    shutil.copytree(DEPLOY, tree, ignore=shutil.ignore_patterns("secrets"))
    secrets = tree / "overlays" / "dev" / "secrets"

    assert run_script(tree).count("created") == len(SECRETS) + 1
    # The names compose's secrets step uses, which the manifests mount.
    files = {path.name: path for path in secrets.iterdir()}
    keys = files.pop(compose_secrets.TOKEN_KEYS.file)
    assert set(files) == {secret.file for secret in SECRETS}
    # The token signing key, in the api's own format (api.accounts.tokens).
    ((kid, key),) = read_keys(keys).items()
    assert (len(kid), len(key)) == (16, 43)
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    values = {path.read_text() for path in files.values()}
    assert len(values) == len(SECRETS), "each password its own"
    for path in files.values():
        value = path.read_text()
        assert len(value) >= 32, path.name
        assert value.isalnum(), "nothing to quote, no newline"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700

    # A database keeps the password it was initialised with: never overwritten.
    assert run_script(tree) == ""
    assert {path.read_text() for path in secrets.iterdir()} == {*values, keys.read_text()}
    files["api_db_password"].unlink()
    assert run_script(tree).count("created") == 1
