"""The container's healthcheck command: 0 when /readyz answers 200, 1 otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from api.healthcheck import listening_ports
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


TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:238C 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001 0 1 1
   1: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001 0 2 1
   2: 0100007F:1F40 0100007F:D431 01 00000000:00000000 00:00000000 00000000 10001 0 3 1
"""


def test_without_gunicorn_bind_the_port_is_the_lowest_one_listening(tmp_path: Path) -> None:
    """In the container nothing sets GUNICORN_BIND: the check asks the kernel. 8000 and
    9100 listen (the api and its metrics port); the connection in state 01 does not."""
    table = tmp_path / "tcp"
    table.write_text(TCP_TABLE)
    assert list(listening_ports((table, tmp_path / "no-tcp6"))) == [8000, 9100]


def test_the_kernel_lists_the_servers_port(api_server: RunningApi) -> None:
    assert httpx.URL(api_server.base_url).port in set(listening_ports())
