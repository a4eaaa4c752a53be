"""What the migrator and the roles step read from the environment, on top of the shared
database settings."""

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import URL

from shared_models.logs import LogSettings
from shared_models.settings import (
    ApiCredentials,
    ApiRole,
    DatabaseSettings,
    EnvSettings,
    OwnerCredentials,
    PublicHosts,
    secret,
)


class DatabaseWaitSettings(EnvSettings):
    """How long the one-shot steps wait for the database."""

    model_config = SettingsConfigDict(title="How long the one-shot steps wait for the database")

    migrator_db_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Seconds the migrator (and the roles step) keep retrying an unreachable "
        "database before exiting non-zero: a healthcheck can pass while PostgreSQL is "
        "still initialising or restarting.",
    )


class MigratorSettings(DatabaseWaitSettings):
    """The migrator's lock and statement timeouts (and its wait for the database)."""

    model_config = SettingsConfigDict(title="The migrator's lock and statement timeouts")

    migrator_lock_wait_seconds: float = Field(
        default=600.0,
        ge=0,
        description="Seconds a second migrator waits for the first to finish (advisory lock).",
    )
    migrator_lock_timeout: float = Field(
        default=3.0,
        gt=0,
        description="Seconds one DDL statement may queue for a table lock. API queries on "
        "that table queue behind it meanwhile, so this bounds their stall.",
    )
    migrator_lock_retries: int = Field(
        default=5,
        ge=0,
        description="Attempts after a lock timeout, with exponential backoff between them.",
    )
    migrator_statement_timeout: float = Field(
        default=600.0,
        ge=0,
        description="Seconds any one migration statement may run; 0 for no limit (raise it "
        "for big backfills).",
    )


class BackfillSettings(EnvSettings):
    """How a revision's backfill (migrator.backfill) changes rows: a batch at a time."""

    model_config = SettingsConfigDict(title="How a revision's backfill changes rows")

    migrator_backfill_batch_size: int = Field(
        default=1000,
        ge=1,
        description="Rows per batch: each batch is one transaction, holding its rows' locks "
        "only while it runs.",
    )
    migrator_backfill_rows_per_second: float = Field(
        default=0,
        ge=0,
        description="The most rows a backfill changes a second, so the API's writes go on "
        "beside it; 0 for as fast as the batches run.",
    )
    migrator_backfill_lock_timeout: float = Field(
        default=1.0,
        gt=0,
        description="Seconds a batch may wait for a row or table lock before it is tried again.",
    )
    migrator_backfill_lock_retries: int = Field(
        default=10, ge=0, description="Attempts of a batch after a lock timeout."
    )
    migrator_backfill_log_seconds: float = Field(
        default=5.0, gt=0, description="Seconds between a backfill's progress lines."
    )


class PlanSettings(EnvSettings):
    """How `migrator plan` reads today's rows for what a revision's new rules would refuse."""

    model_config = SettingsConfigDict(title="How the plan reads today's rows")

    migrator_plan_check_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Seconds the plan may spend counting the rows that break one new rule "
        "(NOT NULL, CHECK, foreign key, unique): a read-only scan that never waits for a "
        "lock; past it the rule is reported as not checked.",
    )


class MigratorDatabaseSettings(DatabaseSettings, OwnerCredentials, ApiRole):
    """The database, reached as the schema owner; the API role is named for its grants."""

    @model_validator(mode="after")
    def _has_password(self) -> Self:
        self.require_password("OWNER_DB_PASSWORD", self.owner_db_password)
        return self

    def url(self, driver: str) -> URL:
        return self.role_url(driver, self.owner_db_user, self.owner_db_password)


def plan_database(database: str) -> str:
    """The scratch database `make plan` runs pending revisions on (migrator.plan): made by
    the roles step beside the application's, owned by the schema owner."""
    return f"{database}_plan"


class SuperuserCredentials(EnvSettings):
    """The database server's superuser."""

    model_config = SettingsConfigDict(title="The database server's superuser")

    postgres_user: str = Field(
        default="postgres",
        description="The database server's superuser (the postgres image's own variable): "
        "for administration and the roles step only; no service runs as it.",
    )
    postgres_password: SecretStr | None = secret("Password of POSTGRES_USER.")


class ExporterCredentials(EnvSettings):
    """The PostgreSQL exporter's role (compose's monitoring profile): statistics only."""

    model_config = SettingsConfigDict(title="The PostgreSQL exporter's role")

    exporter_db_password: SecretStr | None = secret(
        "Password of app_exporter, the role the PostgreSQL exporter reads statistics as "
        "(pg_monitor, nothing else); unset, the roles step makes no such role."
    )


class RolesSettings(
    DatabaseSettings, SuperuserCredentials, OwnerCredentials, ApiCredentials, ExporterCredentials
):
    """The roles step: the superuser creates the owner, API and exporter roles and the
    database."""

    @model_validator(mode="after")
    def _has_passwords(self) -> Self:
        for name, value in (
            ("POSTGRES_PASSWORD", self.postgres_password),
            ("OWNER_DB_PASSWORD", self.owner_db_password),
            ("API_DB_PASSWORD", self.api_db_password),
        ):
            self.require_password(name, value)
        if len({self.postgres_user, self.owner_db_user, self.api_db_user}) < 3:
            raise ValueError("POSTGRES_USER, OWNER_DB_USER and API_DB_USER must be three roles")
        return self

    def url(self, driver: str, database: str | None = None) -> URL:
        url = self.role_url(driver, self.postgres_user, self.postgres_password)
        return url.set(database=database) if database else url


# Everything each program reads: what it validates at start (shared_models.startup), and
# what the docs and the compose tests walk (tools.configuration.PROGRAMS).
SECRETS_SETTINGS = (PublicHosts, LogSettings)
ROLES_SETTINGS = (RolesSettings, DatabaseWaitSettings, LogSettings)
MIGRATOR_SETTINGS = (MigratorDatabaseSettings, MigratorSettings, BackfillSettings, LogSettings)
SEED_SETTINGS = (MigratorDatabaseSettings, DatabaseWaitSettings, LogSettings)
# `make plan` (migrator.plan): the database and its scratch copy, and how backfills would run.
PLAN_SETTINGS = (
    MigratorDatabaseSettings,
    DatabaseWaitSettings,
    BackfillSettings,
    PlanSettings,
    LogSettings,
)
# `alembic ... --sql` prints a script without connecting: only the timeouts it writes into
# the script, and the logging.
MIGRATOR_SQL_SETTINGS = (MigratorSettings, LogSettings)
