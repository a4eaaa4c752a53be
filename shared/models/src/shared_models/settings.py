"""Settings read from the environment and validated at start-up, and the database
settings every service shares. Each setting is a field of one class, which holds its
default and description (the only place for both; `make docs` generates .env.example
and docs/configuration.md from them). Any variable may be given as ``<NAME>_FILE``
naming a file that holds it; errors name the variable and never echo its value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# A lowercase SQL identifier: safe to double-quote into role DDL without escaping.
ROLE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


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
    """Base for settings read from the environment (and ``*_FILE``), failing with names.

    An empty variable counts as unset, so ``NAME=`` in an env file means "the default".
    A subclass that declares settings gives them a section in the generated docs with
    ``model_config = SettingsConfigDict(title=...)``; its own subclasses inherit it.
    """

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_ignore_empty=True)

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


def secret(description: str) -> Any:
    """A password field: optional in the class (``DATABASE_URL`` may carry it instead),
    shown as a secret in the generated docs, never echoed."""
    return Field(
        default=None,
        description=description,
        json_schema_extra={"secret": True, "in_secrets_volume": True},
    )


class DatabaseSettings(EnvSettings):
    """Where the database is, and how long to wait for it."""

    model_config = SettingsConfigDict(title="Where the database is, and how long to wait for it")

    database_url: SecretStr | None = Field(
        default=None,
        description="A full postgresql:// URL, user and password included, used instead of "
        "POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB and the role's own user and password "
        "(for running a service outside compose).",
        json_schema_extra={"secret": True},
    )
    postgres_host: str = Field(default="localhost", description="Host name of the database.")
    postgres_port: int = Field(default=5432, ge=1, le=65535, description="Port of the database.")
    postgres_db: str = Field(default="app", min_length=1, description="The application's database.")
    postgres_connect_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a connect and its authentication may take, so an unreachable "
        "database fails fast instead of hanging.",
    )

    @model_validator(mode="after")
    def _valid_url(self) -> Self:
        if self.database_url is not None:
            try:
                url = make_url(self.database_url.get_secret_value())
            except ArgumentError:
                raise ValueError("DATABASE_URL is not a valid URL") from None
            if url.get_backend_name() != "postgresql":
                raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return self

    @property
    def database_name(self) -> str:
        if self.database_url is not None:
            return make_url(self.database_url.get_secret_value()).database or self.postgres_db
        return self.postgres_db

    def role_url(self, driver: str, user: str, password: SecretStr | None) -> URL:
        """The URL for a SQLAlchemy dialect driver (``psycopg``, ``asyncpg``) as ``user``,
        or ``DATABASE_URL`` when it is set."""
        if self.database_url is not None:
            return make_url(self.database_url.get_secret_value()).set(
                drivername=f"postgresql+{driver}"
            )
        assert password is not None, "checked by require_password"
        return URL.create(
            f"postgresql+{driver}",
            username=user,
            password=password.get_secret_value(),
            host=self.postgres_host,
            port=self.postgres_port,
            database=self.postgres_db,
        )

    def require_password(self, name: str, password: SecretStr | None) -> None:
        if self.database_url is None and not password:
            raise ValueError(f"set {name} or {name}_FILE (or DATABASE_URL)")


class ApiRole(EnvSettings):
    """The name of the API's own database role: enough for the migrator's grants."""

    model_config = SettingsConfigDict(title="The API's own database role")

    api_db_user: str = Field(
        default="app_api",
        pattern=ROLE_NAME,
        description="The API's database role: it reads and writes rows and nothing else "
        "(no CREATE, ALTER, DROP or TRUNCATE).",
    )


class ApiCredentials(ApiRole):
    """The API role's name and password: what the API logs in with (same section)."""

    api_db_password: SecretStr | None = secret("Password of API_DB_USER.")


class OwnerRole(EnvSettings):
    """The name of the schema owner, as which the migrator connects."""

    model_config = SettingsConfigDict(title="The schema owner, as which the migrator connects")

    owner_db_user: str = Field(
        default="app_owner",
        pattern=ROLE_NAME,
        description="The role that owns the schema; the migrator connects as it. Not a "
        "superuser: it can change its own tables and nothing else.",
    )


class OwnerCredentials(OwnerRole):
    """The schema owner's name and password: what the migrator logs in with (same section)."""

    owner_db_password: SecretStr | None = secret("Password of OWNER_DB_USER.")


class PublicHosts(EnvSettings):
    """The names the API is published under: what it answers to, and what the proxy's
    own certificate names when the operator gives none (the secrets step makes it)."""

    model_config = SettingsConfigDict(title="Where the API is published")

    public_hosts: str = Field(
        default="localhost,127.0.0.1,::1",
        pattern=r"^[A-Za-z0-9.*:_-]+(,[A-Za-z0-9.*:_-]+)*$",
        description="Comma-separated host names the API answers to, as clients write them "
        "in Host (without the port); *.example.com matches its subdomains, * any. The "
        "Link and redirect URLs the API writes use the request's Host, so any other gets "
        "400 (the health probes and /metrics answer whatever the Host). The certificate "
        "the secrets step makes when TLS_DIR holds none names these.",
    )

    @property
    def public_host_names(self) -> tuple[str, ...]:
        return tuple(host.strip().lower() for host in self.public_hosts.split(","))
