"""What the migrator reads from the environment, on top of the shared database settings."""

from pydantic import Field

from shared_models.settings import EnvSettings


class MigratorSettings(EnvSettings):
    # A compose healthcheck can pass while PostgreSQL is still initialising or
    # restarting; the migrator keeps trying this long before it gives up.
    migrator_db_wait_seconds: float = Field(default=60.0, ge=0)
