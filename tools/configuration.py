"""Every variable the stack reads, gathered from where each one is defined.

The settings classes hold each service setting's default and description; compose
files hold the few variables compose itself reads (ports, base images). This module
walks both, so `.env.example` and the README's table are generated (tools.docs) and
tests can check compose against the classes.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from api.settings import SETTINGS as API_SETTINGS
from migrator.settings import MIGRATOR_SETTINGS, ROLES_SETTINGS, SECRETS_SETTINGS
from shared_models.settings import EnvSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILES = (ROOT / "compose.yaml", ROOT / "compose.override.yaml")

# Compose service -> the settings classes its container reads.
SERVICE_SETTINGS: dict[str, tuple[type[EnvSettings], ...]] = {
    "secrets": SECRETS_SETTINGS,
    "roles": ROLES_SETTINGS,
    "migrator": MIGRATOR_SETTINGS,
    "api": API_SETTINGS,
}
# Variables of the official postgres image that the db service is given.
IMAGE_VARIABLES = {"db": ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")}

# Variables compose itself reads, with their defaults in the compose files.
COMPOSE_VARIABLES = {
    "API_PORT": "Host port the API is published on.",
    "DB_PORT": "Host port of the database, on 127.0.0.1 only (development override).",
    "PYTHON_IMAGE": "Base image of the api and migrator images.",
    "POSTGRES_IMAGE": "The database's image.",
    "GIT_REVISION": "The git revision the images are built from (`make up` passes the "
    "checkout's); the api reports it as BUILD_REVISION.",
}
# Set by the Makefile for the development override, never by hand.
INTERNAL_COMPOSE_VARIABLES = {"HOST_UID", "HOST_GID"}

# Service settings that compose fixes instead of passing through, and why.
FIXED_BY_COMPOSE = {
    "POSTGRES_HOST": "db, the database's service name",
    "DATABASE_URL": "not set; compose gives the parts",
    "POSTGRES_PORT": "the default, where db listens",
    "GUNICORN_BIND": "the default; API_PORT publishes its port 8000",
    "BUILD_REVISION": "baked into the image from GIT_REVISION",
}
# Settings the development override gives a default of its own, and why.
DEVELOPMENT_DEFAULTS = {"LOG_FORMAT": "readable lines while developing"}

# ${NAME}, ${NAME:-default}; not $${NAME}, which is a literal $ for the container's shell.
INTERPOLATION = re.compile(r"(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}")


# The order of the sections in the generated docs; a class missing here comes last.
SECTION_ORDER = [
    "compose",
    "DatabaseSettings",
    "SuperuserCredentials",
    "OwnerRole",
    "OwnerCredentials",
    "ApiRole",
    "ApiCredentials",
    "DatabaseWaitSettings",
    "MigratorSettings",
    "ApiSettings",
    "ServerSettings",
    "LogSettings",
]


@dataclass
class Variable:
    name: str
    default: str  # as written in an env file; "" when there is none
    description: str
    secret: bool = False
    in_secrets_volume: bool = False  # compose gives it as a file from the secrets volume
    services: list[str] = field(default_factory=list)
    section: str = ""


def env_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def schema_extra(info: FieldInfo) -> dict[str, Any]:
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def field_default(info: FieldInfo) -> str:
    extra = schema_extra(info)
    if "default_doc" in extra:
        return f"({extra['default_doc']})"
    if info.default is PydanticUndefined:
        return ""
    return env_value(info.default)


def defining_class(settings_class: type[EnvSettings], name: str) -> type[EnvSettings]:
    """The class that declares the field (not one that merely inherits it)."""
    for klass in settings_class.__mro__:
        if name in inspect.get_annotations(klass):
            return klass
    return settings_class


def service_variables() -> dict[str, Variable]:
    variables: dict[str, Variable] = {}
    for service, classes in SERVICE_SETTINGS.items():
        for settings_class in classes:
            for name, info in settings_class.model_fields.items():
                env = name.upper()
                if env not in variables:
                    extra = schema_extra(info)
                    variables[env] = Variable(
                        name=env,
                        default=field_default(info),
                        description=info.description or "",
                        secret=bool(extra.get("secret")),
                        in_secrets_volume=bool(extra.get("in_secrets_volume")),
                        section=defining_class(settings_class, name).__name__,
                    )
                if service not in variables[env].services:
                    variables[env].services.append(service)
    for service, names in IMAGE_VARIABLES.items():
        for env in names:
            variables[env].services.insert(0, service)
    return variables


def compose_defaults() -> dict[str, str]:
    """``${NAME:-default}`` of the compose files: NAME -> default."""
    found: dict[str, str] = {}
    for path in COMPOSE_FILES:
        for name, default in INTERPOLATION.findall(path.read_text()):
            found.setdefault(name, default)
    return found


def compose_variables() -> list[Variable]:
    defaults = compose_defaults()
    return [
        Variable(name, defaults.get(name, ""), description, services=["compose"], section="compose")
        for name, description in COMPOSE_VARIABLES.items()
    ]


def section_rank(variable: Variable) -> int:
    order = SECTION_ORDER
    return order.index(variable.section) if variable.section in order else len(order)


def all_variables() -> list[Variable]:
    variables = [*compose_variables(), *service_variables().values()]
    return sorted(variables, key=section_rank)  # stable: fields keep their class's order
