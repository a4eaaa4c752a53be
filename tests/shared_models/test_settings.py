"""Configuration is validated at start-up, names the bad variable and never leaks a secret."""

from pathlib import Path

import pytest

from api.settings import ApiDatabaseSettings, ServerSettings
from migrator.settings import MigratorDatabaseSettings
from shared_models.logs import LogSettings
from shared_models.settings import ConfigurationError

SECRET = "s3cret-Value"

# The shell's service variables are cleared by tests/conftest.py; each test sets its own.


def test_parts_build_a_url_for_the_requested_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "db")
    monkeypatch.setenv("API_DB_PASSWORD", SECRET)
    url = ApiDatabaseSettings.load().url("asyncpg")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.username, url.database) == ("db", 5432, "app_api", "app")
    assert url.password == SECRET


def test_each_service_logs_in_as_its_own_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_DB_PASSWORD", "api-" + SECRET)
    monkeypatch.setenv("OWNER_DB_PASSWORD", "owner-" + SECRET)
    monkeypatch.setenv("POSTGRES_PASSWORD", "superuser-" + SECRET)  # neither reads it
    api = ApiDatabaseSettings.load().url("asyncpg")
    migrator = MigratorDatabaseSettings.load().url("psycopg")
    assert (api.username, api.password) == ("app_api", "api-" + SECRET)
    assert (migrator.username, migrator.password) == ("app_owner", "owner-" + SECRET)


def test_database_url_wins_and_gets_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:{SECRET}@h:6543/d")
    url = ApiDatabaseSettings.load().url("psycopg")
    assert url.render_as_string(hide_password=False) == f"postgresql+psycopg://u:{SECRET}@h:6543/d"


def test_an_empty_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Compose passes `NAME:` through as NAME= when .env sets it empty.
    monkeypatch.setenv("API_DB_PASSWORD", SECRET)
    monkeypatch.setenv("POSTGRES_PORT", "")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "")
    assert ApiDatabaseSettings.load().postgres_port == 5432
    assert ServerSettings.load().gunicorn_timeout == 30


def test_password_file_is_read_without_its_trailing_newline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.setenv("API_DB_PASSWORD_FILE", str(secret_file))
    assert ApiDatabaseSettings.load().url("psycopg").password == SECRET


def test_value_and_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET)
    monkeypatch.setenv("API_DB_PASSWORD", SECRET)
    monkeypatch.setenv("API_DB_PASSWORD_FILE", str(secret_file))
    with pytest.raises(ConfigurationError, match="API_DB_PASSWORD and API_DB_PASSWORD_FILE"):
        ApiDatabaseSettings.load()


def test_unreadable_file_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_DB_PASSWORD_FILE", "/nonexistent/secret")
    with pytest.raises(ConfigurationError, match="API_DB_PASSWORD_FILE: cannot read"):
        ApiDatabaseSettings.load()


def test_missing_password_names_the_variables() -> None:
    with pytest.raises(ConfigurationError, match="set API_DB_PASSWORD or API_DB_PASSWORD_FILE"):
        ApiDatabaseSettings.load()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("POSTGRES_PORT", "eighty", "POSTGRES_PORT: Input should be a valid integer"),
        ("POSTGRES_PORT", "70000", "POSTGRES_PORT: Input should be less than or equal to 65535"),
        ("POSTGRES_CONNECT_TIMEOUT", "0", "POSTGRES_CONNECT_TIMEOUT: Input should be greater"),
        ("DATABASE_URL", f"mysql://u:{SECRET}@h/d", "DATABASE_URL must be a postgresql:// URL"),
        ("DATABASE_URL", f"not a url {SECRET}", "DATABASE_URL is not a valid URL"),
    ],
)
def test_invalid_values_name_the_variable_and_hide_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("API_DB_PASSWORD", SECRET)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        ApiDatabaseSettings.load()
    assert message in str(raised.value)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(("level", "log_format"), [("DEBUG", "JSON"), ("Warning", "Console")])
def test_log_settings_take_any_case(
    monkeypatch: pytest.MonkeyPatch, level: str, log_format: str
) -> None:
    monkeypatch.setenv("LOG_LEVEL", level)
    monkeypatch.setenv("LOG_FORMAT", log_format)
    settings = LogSettings.load()
    assert (settings.log_level, settings.log_format) == (level.lower(), log_format.lower())
