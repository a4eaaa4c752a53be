"""tools/compose.sh, the make targets' `docker compose`, in a folder of its own with a
stand-in `docker` on PATH that prints what it was asked: which files it picks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness.paths import ROOT

FAKE_DOCKER = """#!/bin/sh
# Nothing is up (`compose ls` and `compose config` print no JSON); anything else: echoed.
case "$2" in ls | config) exit 0 ;; esac
echo "docker $* COMPOSE_FILE=${COMPOSE_FILE:-}"
"""


def run_wrapper(folder: Path, env_file: str | None) -> subprocess.CompletedProcess[str]:
    (folder / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "compose.sh", folder / "tools" / "compose.sh")
    for name in ("compose.yaml", "compose.override.yaml"):
        (folder / name).write_text("services: {}\n")
    if env_file is not None:
        (folder / ".env").write_text(env_file)
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "COMPOSE_FILE"}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return subprocess.run(
        ["bash", "tools/compose.sh", "up", "--wait"], cwd=folder, env=env,
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_a_fresh_clone_without_env_reaches_compose(tmp_path: Path) -> None:
    """No .env at all, as after `git clone`: `make up` must run compose, not exit 2."""
    result = run_wrapper(tmp_path, env_file=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("docker compose up --wait"), result.stdout


def test_an_env_without_compose_file_reaches_compose_too(tmp_path: Path) -> None:
    result = run_wrapper(tmp_path, env_file="LOG_LEVEL=info\n")
    assert result.returncode == 0, result.stderr
    assert "docker compose up --wait" in result.stdout
