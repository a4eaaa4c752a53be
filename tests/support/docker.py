"""The suites that need Docker: skipped without it, except in CI, where they must run."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from harness.compose import docker_available


def skip_unless_ci(missing: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run every suite, but {missing}")
    pytest.skip(f'{missing} (sandbox: eval "$(../shared/docker-sandbox/setup --env)")')


def with_docker_or_skip() -> None:
    """A running Docker engine, for the suites that build images and run containers."""
    if not docker_available():
        skip_unless_ci("Docker is not available")


def with_compose_or_skip() -> None:
    """Docker's command line with Compose, which renders compose files without an engine."""
    found = shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False
    )
    if not found or found.returncode != 0:
        skip_unless_ci("Docker Compose is not installed")
