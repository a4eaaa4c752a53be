"""Every variable the stack reads, from where each is defined: the settings classes
(default and description), the proxy's settings file (services/proxy/settings), the
compose files (the few variables compose itself reads), and PROGRAMS (each program, its
compose service and the settings it validates at start).
`.env.example` and docs/configuration.md are generated from here (tools.docs), and the
tests check compose against it. A section is the title of the class that declares it;
sections come in start order, the logging one (every program's) last.
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
from migrator.settings import (
    MIGRATOR_SETTINGS,
    PLAN_SETTINGS,
    ROLES_SETTINGS,
    SECRETS_SETTINGS,
    SEED_SETTINGS,
)
from shared_models.settings import EnvSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILES = (ROOT / "compose.yaml", ROOT / "compose.override.yaml")
# NAME|DEFAULT|KIND|MIN|MAX|description, one a line: what the proxy's start.sh checks.
PROXY_SETTINGS_FILE = ROOT / "services" / "proxy" / "settings"
PROXY_SECTION = "The front door's limits (the proxy)"

Settings = tuple[type[EnvSettings], ...]


@dataclass(frozen=True)
class Program:
    service: str  # the compose service whose container runs it
    settings: Settings  # everything it reads, as it passes them to shared_models.startup


# Every program of the stack, in start order.
PROGRAMS: dict[str, Program] = {
    "secrets": Program("secrets", SECRETS_SETTINGS),
    "roles": Program("roles", ROLES_SETTINGS),
    "migrator": Program("migrator", MIGRATOR_SETTINGS),
    "seed": Program("migrator", SEED_SETTINGS),  # `make seed`, in the migrator's image
    "plan": Program("migrator", PLAN_SETTINGS),  # `make plan`, in the migrator's image
    "api": Program("api", API_SETTINGS),
}


def settings_of_services() -> dict[str, Settings]:
    services: dict[str, list[type[EnvSettings]]] = {}
    for program in PROGRAMS.values():
        classes = services.setdefault(program.service, [])
        classes.extend(klass for klass in program.settings if klass not in classes)
    return {service: tuple(classes) for service, classes in services.items()}


# Compose service -> the settings classes its container reads (its programs', together).
SERVICE_SETTINGS = settings_of_services()
# Variables of the official postgres image that the db service is given.
IMAGE_VARIABLES = {"db": ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")}

# Variables compose itself reads, with their defaults in the compose files.
COMPOSE_VARIABLES = {
    "API_PORT": "Host port of plain HTTP, which redirects to HTTPS (the development "
    "override serves it as it is).",
    "API_TLS_PORT": "Host port of HTTPS (TLS 1.2 and 1.3, HTTP/2).",
    "TLS_DIR": "A folder holding proxy.pem (the certificate chain, then its key) for the "
    "proxy to serve. Unset: the secrets step makes a certificate for PUBLIC_HOSTS in the "
    "`tls` volume on the first `up`, signed by an authority of its own (ca.pem there).",
    "DB_PORT": "Host port of the database, on 127.0.0.1 only (development override).",
    "PYTHON_IMAGE": "Base image of the api and migrator images.",
    "POSTGRES_IMAGE": "The database's image.",
    "HAPROXY_IMAGE": "The proxy's image.",
    "PROMETHEUS_IMAGE": "Prometheus's image (the monitoring profile).",
    "ALERTMANAGER_IMAGE": "Alertmanager's image (the monitoring profile).",
    "POSTGRES_EXPORTER_IMAGE": "The PostgreSQL exporter's image (the monitoring profile).",
    "PROMETHEUS_PORT": "Host port of Prometheus's UI, on 127.0.0.1 only (development "
    "override, monitoring profile).",
    "ALERTMANAGER_PORT": "Host port of Alertmanager's UI, on 127.0.0.1 only (development "
    "override, monitoring profile).",
    "API_DEBUG_PORT": "Host port of the api itself, beside the proxy, on 127.0.0.1 only "
    "(development override).",
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
    "TRUSTED_PROXIES": "proxy, the proxy's service name",
    "PROXY_HTTPS_PORT": "API_TLS_PORT, the port clients reach HTTPS on",
}
# Settings the development override gives a default of its own, and why.
DEVELOPMENT_DEFAULTS = {
    "LOG_FORMAT": "readable lines while developing",
    "METRICS_PORT": "one uvicorn listens on one port",
}

# ${NAME}, ${NAME:-default}; not $${NAME}, which is a literal $ for the container's shell.
INTERPOLATION = re.compile(r"(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}")
COMPOSE_SECTION = "compose"  # the section of COMPOSE_VARIABLES, first


@dataclass
class Variable:
    name: str
    default: str  # as written in an env file; "" when there is none
    description: str
    secret: bool = False
    in_secrets_volume: bool = False  # compose gives it as a file from the secrets volume
    services: list[str] = field(default_factory=list)
    section: str = ""  # COMPOSE_SECTION, or the title of the class that declares it


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


def declares_settings(klass: type) -> bool:
    return issubclass(klass, EnvSettings) and any(
        name in klass.model_fields for name in inspect.get_annotations(klass)
    )


def section_title(klass: type[EnvSettings]) -> str:
    """The title of the section of the settings ``klass`` declares: its ``model_config``'s
    (its own, or inherited from the class whose section it adds to)."""
    title = klass.model_config.get("title")
    if not title:
        raise ValueError(f"{klass.__qualname__} declares settings but has no section title")
    return title


def sections() -> list[str]:
    """Every section, in order: the compose one; then each in the order the programs, in
    start order, first read it (each settings class, then its bases in method resolution
    order); last, those every program reads (logging)."""
    order: list[str] = []
    readers: dict[str, set[str]] = {}
    for name, program in PROGRAMS.items():
        for settings_class in program.settings:
            for klass in settings_class.__mro__:
                if declares_settings(klass):
                    title = section_title(klass)
                    if title not in order:
                        order.append(title)
                    readers.setdefault(title, set()).add(name)
    everyones = [title for title in order if readers[title] == set(PROGRAMS)]
    return [COMPOSE_SECTION, *(t for t in order if t not in everyones), PROXY_SECTION, *everyones]


def proxy_variables() -> list[Variable]:
    """The proxy's settings, from its settings file."""
    found = []
    for line in PROXY_SETTINGS_FILE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, default, _kind, _least, _most, description = line.split("|", 5)
        found.append(
            Variable(name, default, description, services=["proxy"], section=PROXY_SECTION)
        )
    return found


def service_variables() -> dict[str, Variable]:
    variables: dict[str, Variable] = {}
    for program in PROGRAMS.values():
        for settings_class in program.settings:
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
                        section=section_title(defining_class(settings_class, name)),
                    )
                if program.service not in variables[env].services:
                    variables[env].services.append(program.service)
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
        Variable(
            name, defaults.get(name, ""), description, services=["compose"], section=COMPOSE_SECTION
        )
        for name, description in COMPOSE_VARIABLES.items()
    ]


def all_variables() -> list[Variable]:
    variables = [*compose_variables(), *service_variables().values(), *proxy_variables()]
    order = sections()
    # Stable: within a section, settings keep the order the programs read them in.
    return sorted(variables, key=lambda variable: order.index(variable.section))
