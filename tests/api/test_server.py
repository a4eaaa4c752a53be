"""The server as operators meet it: bad configuration stops it at once, SIGTERM drains it."""

import signal
import subprocess
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from tests.support.processes import GUNICORN, running_api, service_env


def start_gunicorn(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        GUNICORN,
        env=service_env(None, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_invalid_configuration_stops_the_server_naming_the_variable() -> None:
    result = start_gunicorn(API_DB_PASSWORD="not-in-the-message", DB_POOL_SIZE="lots")
    assert result.returncode != 0
    assert "api: invalid configuration: DB_POOL_SIZE" in result.stderr
    assert "not-in-the-message" not in result.stderr + result.stdout


def test_missing_database_settings_stop_the_server() -> None:
    result = start_gunicorn()
    assert result.returncode != 0
    assert "set API_DB_PASSWORD or API_DB_PASSWORD_FILE" in result.stderr


def test_sigterm_shuts_down_gracefully(migrated_database: URL, log_dir: Path) -> None:
    with running_api(migrated_database, log_dir) as api:
        assert httpx.get(api.base_url + "/readyz", timeout=10).status_code == 200
        api.process.send_signal(signal.SIGTERM)
        assert api.process.wait(timeout=30) == 0
        log = api.log()
    # Each worker ran the app's shutdown (its connection pool closed) before the master left.
    assert log.count("Application shutdown complete") == 2
    assert "Shutting down: Master" in log
