"""The container's healthcheck command: 0 when /readyz answers 200, 1 otherwise."""

from __future__ import annotations

import subprocess
import sys

import httpx

from harness.postgres import free_port
from harness.processes import RunningApi, service_env


def healthcheck(bind: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.healthcheck"],
        env=service_env(GUNICORN_BIND=bind), capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip


def test_healthy_when_ready(api_server: RunningApi) -> None:
    result = healthcheck(f"0.0.0.0:{httpx.URL(api_server.base_url).port}")
    assert result.returncode == 0, result.stderr


def test_unhealthy_when_nothing_answers() -> None:
    result = healthcheck(f"0.0.0.0:{free_port()}")
    assert result.returncode == 1
    assert "healthcheck:" in result.stderr
