"""Configuration is validated at start-up, names the bad variable and never leaks a secret."""

from pathlib import Path

import pytest

from shared_models import DatabaseSettings
from shared_models.settings import ConfigurationError

SECRET = "s3cret-Value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER",
                 "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_PASSWORD_FILE",
                 "DATABASE_URL_FILE", "POSTGRES_CONNECT_TIMEOUT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_parts_build_a_url_for_the_requested_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "db")
    monkeypatch.setenv("POSTGRES_USER", "app")
    monkeypatch.setenv("POSTGRES_PASSWORD", SECRET)
    url = DatabaseSettings.load().url("asyncpg")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.username, url.database) == ("db", 5432, "app", "app")
    assert url.password == SECRET


def test_database_url_wins_and_gets_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:{SECRET}@h:6543/d")
    url = DatabaseSettings.load().url("psycopg")
    assert url.render_as_string(hide_password=False) == f"postgresql+psycopg://u:{SECRET}@h:6543/d"


def test_password_file_is_read_without_its_trailing_newline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.setenv("POSTGRES_USER", "app")
    monkeypatch.setenv("POSTGRES_PASSWORD_FILE", str(secret_file))
    assert DatabaseSettings.load().url("psycopg").password == SECRET


def test_value_and_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET)
    monkeypatch.setenv("POSTGRES_PASSWORD", SECRET)
    monkeypatch.setenv("POSTGRES_PASSWORD_FILE", str(secret_file))
    with pytest.raises(ConfigurationError, match="POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE"):
        DatabaseSettings.load()


def test_unreadable_file_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_PASSWORD_FILE", "/nonexistent/secret")
    with pytest.raises(ConfigurationError, match="POSTGRES_PASSWORD_FILE: cannot read"):
        DatabaseSettings.load()


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(ConfigurationError, match="POSTGRES_USER and POSTGRES_PASSWORD"):
        DatabaseSettings.load()


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
    monkeypatch.setenv("POSTGRES_USER", "app")
    monkeypatch.setenv("POSTGRES_PASSWORD", SECRET)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        DatabaseSettings.load()
    assert message in str(raised.value)
    assert SECRET not in str(raised.value)
