"""What the migrator reads from the environment, on top of the shared database settings."""

from pydantic import Field, SecretStr

from shared_models.settings import EnvSettings


class MigratorSettings(EnvSettings):
    # A compose healthcheck can pass while PostgreSQL is still initialising or
    # restarting; the migrator keeps trying this long before it gives up.
    migrator_db_wait_seconds: float = Field(default=60.0, ge=0)
    # How long a second migrator waits for the first one to finish.
    migrator_lock_wait_seconds: float = Field(default=600.0, ge=0)
    # How long one DDL statement may queue for a table lock. While it queues, every
    # API query on that table queues behind it, so this bounds the API's stall.
    migrator_lock_timeout: float = Field(default=3.0, gt=0)
    # Attempts after a lock timeout, with exponential backoff between them.
    migrator_lock_retries: int = Field(default=5, ge=0)
    # Longest any single migration statement may run; 0 disables the limit.
    migrator_statement_timeout: float = Field(default=600.0, ge=0)
    # The role the API connects as: rows only (no CREATE, ALTER, DROP, TRUNCATE).
    # Left unset, the migrator does not manage an API role.
    api_db_user: str = Field(default="app_api", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    api_db_password: SecretStr | None = None
