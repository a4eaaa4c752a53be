"""What each container is, in the code's terms: the compose service whose settings it
reads, the variables it may be given, and the values it ends up with."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic.fields import FieldInfo

from migrator.image_users import API_UID, MIGRATOR_UID
from shared_models.settings import EnvSettings
from tools.configuration import IMAGE_VARIABLES, SERVICE_SETTINGS

Settings = TypeVar("Settings", bound=EnvSettings)

# app.kubernetes.io/name of a workload's pods -> the compose service it is.
SERVICE_OF = {"api": "api", "migrator": "migrator", "roles": "roles", "postgres": "db"}
# The user each image runs as: its Dockerfile stage's (tests/compose/test_files.py checks them
# against migrator.image_users), and the postgres image's own `postgres` user.
IMAGE_UID = {"api": API_UID, "migrator": MIGRATOR_UID, "roles": MIGRATOR_UID, "postgres": 999}
# The postgres image's variables: those compose gives it, and PGDATA, which puts the
# data in a directory below the volume's root (a new volume may hold lost+found).
POSTGRES_VARIABLES = {*IMAGE_VARIABLES["db"], "PGDATA"}
POSTGRES_SECRETS = {"POSTGRES_PASSWORD"}
# Compose's monitoring profile runs a PostgreSQL exporter; these manifests deploy none, so
# the roles Job makes no exporter role (its password is optional: deploy/kubernetes/README.md).
COMPOSE_ONLY_PASSWORDS = {"EXPORTER_DB_PASSWORD"}


def extra(info: FieldInfo) -> dict[str, Any]:
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def fields(service: str) -> dict[str, FieldInfo]:
    """Every setting the service reads: VARIABLE -> its field."""
    found: dict[str, FieldInfo] = {}
    for settings_class in SERVICE_SETTINGS[service]:
        for name, info in settings_class.model_fields.items():
            found.setdefault(name.upper(), info)
    return found


def secret_settings(service: str) -> set[str]:
    return {name for name, info in fields(service).items() if extra(info).get("secret")}


def password_settings(service: str) -> set[str]:
    """The passwords the service logs in with: compose gives them as files."""
    return {
        name
        for name, info in fields(service).items()
        if extra(info).get("in_secrets_volume") and name not in COMPOSE_ONLY_PASSWORDS
    }


def load(
    settings_class: type[Settings], service: str, environment: dict[str, str | None]
) -> Settings:
    """The settings the container ends up with, from its variables and the class's
    defaults; a password given as a file counts as given. Raises on a bad value."""
    known = fields(service)
    values: dict[str, Any] = {}
    for name, value in environment.items():
        if name in known and value is not None:
            values[name.lower()] = value
        elif name.endswith("_FILE") and name.removesuffix("_FILE") in known:
            values[name.removesuffix("_FILE").lower()] = "a password from a file"
    wanted = {name for name in settings_class.model_fields if name in values}
    return settings_class.load(**{name: values[name] for name in wanted})
