"""Database settings both services read from the environment, validated at start-up.

Either ``DATABASE_URL`` or the ``POSTGRES_*`` parts; every variable may instead be
given as ``<NAME>_FILE`` naming a file that holds the value (Docker/Kubernetes
secrets). Errors name the variable and never echo its value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


class ConfigurationError(RuntimeError):
    """Raised at start-up when the environment does not describe a usable service."""


class FileEnvSource(PydanticBaseSettingsSource):
    """Reads ``<NAME>_FILE`` variables: the value is the content of the named file."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env_name = f"{field_name.upper()}_FILE"
        path = os.environ.get(env_name)
        if not path:
            return None, field_name, False
        if os.environ.get(field_name.upper()):
            raise ConfigurationError(
                f"{field_name.upper()} and {env_name} are both set; set only one"
            )
        try:
            # Secrets written by editors or `echo` end in a newline that is not part of them.
            return Path(path).read_text().rstrip("\r\n"), field_name, False
        except OSError as exc:
            raise ConfigurationError(f"{env_name}: cannot read {path}: {exc.strerror}") from exc

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class EnvSettings(BaseSettings):
    """Base for settings read from the environment (and ``*_FILE``), failing with names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileEnvSource(settings_cls))

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Build from the environment; raise ConfigurationError naming each bad variable."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_input=False, include_url=False):
                name = ".".join(str(part) for part in error["loc"]).upper()
                message = error["msg"].removeprefix("Value error, ")
                problems.append(f"{name}: {message}" if name else message)
            raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


class DatabaseSettings(EnvSettings):
    database_url: SecretStr | None = None
    postgres_host: str = "localhost"
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_user: str | None = None
    postgres_password: SecretStr | None = None
    postgres_db: str | None = None
    # Bounds the TCP connect + authentication, so an unreachable server fails fast.
    postgres_connect_timeout: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.database_url is not None:
            try:
                url = make_url(self.database_url.get_secret_value())
            except ArgumentError:
                raise ValueError("DATABASE_URL is not a valid URL") from None
            if url.get_backend_name() != "postgresql":
                raise ValueError("DATABASE_URL must be a postgresql:// URL")
            return self
        missing = [
            name
            for name, value in (
                ("POSTGRES_USER", self.postgres_user),
                ("POSTGRES_PASSWORD", self.postgres_password),
            )
            if not value
        ]
        if missing:
            raise ValueError(
                f"set DATABASE_URL, or {' and '.join(missing)} (or their *_FILE variants)"
            )
        return self

    def url(self, driver: str) -> URL:
        """The connection URL for a SQLAlchemy dialect driver (``psycopg``, ``asyncpg``)."""
        if self.database_url is not None:
            return make_url(self.database_url.get_secret_value()).set(
                drivername=f"postgresql+{driver}"
            )
        assert self.postgres_user
        assert self.postgres_password
        return URL.create(
            f"postgresql+{driver}",
            username=self.postgres_user,
            password=self.postgres_password.get_secret_value(),
            host=self.postgres_host,
            port=self.postgres_port,
            database=self.postgres_db or self.postgres_user,
        )
