"""compose.yaml against the code: every setting a service reads reaches its container,
no default is restated, passwords arrive as files, and the ids the secrets step uses
(migrator.image_users) are the images' own."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from harness.paths import ROOT
from migrator.image_users import API_UID, MIGRATOR_UID, OWNER_PASSWORD_GID, READER_GIDS
from migrator.steps.secrets import SECRETS, SECRETS_DIR
from tests.compose.dockerfile import DOCKERFILE, image_stage
from tests.support.docker import with_compose_or_skip
from tools.configuration import (
    COMPOSE_FILES,
    COMPOSE_VARIABLES,
    DEVELOPMENT_DEFAULTS,
    FIXED_BY_COMPOSE,
    IMAGE_VARIABLES,
    INTERNAL_COMPOSE_VARIABLES,
    INTERPOLATION,
    SERVICE_SETTINGS,
    env_value,
    field_default,
)

SECRET_FILES = {secret.variable: f"{SECRETS_DIR}/{secret.file}" for secret in SECRETS}


def rendered(*files: str) -> dict[str, Any]:
    with_compose_or_skip()
    command = ["docker", "compose", *(arg for file in files for arg in ("-f", file))]
    result = subprocess.run(
        [*command, "config", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},  # no variable of the shell leaks in
    )  # fmt: skip
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    return rendered("compose.yaml")


def expected_environment(service: str) -> set[str]:
    names = set()
    for settings_class in SERVICE_SETTINGS.get(service, ()):
        for name, info in settings_class.model_fields.items():
            env = name.upper()
            # compose gives POSTGRES_HOST "db", TRUSTED_PROXIES "proxy"
            if env in FIXED_BY_COMPOSE and env not in ("POSTGRES_HOST", "TRUSTED_PROXIES"):
                continue
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            names.add(f"{env}_FILE" if extra.get("in_secrets_volume") else env)
    for env in IMAGE_VARIABLES.get(service, ()):
        names.add(f"{env}_FILE" if env in SECRET_FILES else env)
    return names


@pytest.mark.parametrize("service", [*SERVICE_SETTINGS, *IMAGE_VARIABLES])
def test_every_setting_a_service_reads_reaches_its_container(
    production: dict[str, Any], service: str
) -> None:
    environment = production["services"][service].get("environment", {})
    assert set(environment) == expected_environment(service)


@pytest.mark.parametrize("service", list(SERVICE_SETTINGS))
def test_no_default_is_restated(production: dict[str, Any], service: str) -> None:
    environment = production["services"][service]["environment"]
    for settings_class in SERVICE_SETTINGS[service]:
        for name, info in settings_class.model_fields.items():
            value = environment.get(name.upper())
            if value is not None:  # None: passed through from the environment as it is
                assert value != env_value(info.default), f"{service}: {name.upper()}={value}"
                assert value != field_default(info)
    if "POSTGRES_HOST" in environment:
        assert environment["POSTGRES_HOST"] == "db"


def test_settings_are_never_interpolated_with_a_default() -> None:
    settings = {
        name.upper() for c in SERVICE_SETTINGS.values() for k in c for name in k.model_fields
    }
    for path in COMPOSE_FILES:
        for name, _default in INTERPOLATION.findall(path.read_text()):
            if path.name == "compose.override.yaml" and name in DEVELOPMENT_DEFAULTS:
                continue
            assert name not in settings, f"{path.name} restates {name}'s default"
            assert name in COMPOSE_VARIABLES or name in INTERNAL_COMPOSE_VARIABLES, name


def test_passwords_arrive_as_files_of_the_secrets_volume(production: dict[str, Any]) -> None:
    for name, service in production["services"].items():
        environment = service.get("environment", {})
        for variable, path in SECRET_FILES.items():
            assert variable not in environment, f"{name} gets {variable} in its environment"
            if f"{variable}_FILE" in environment:
                assert environment[f"{variable}_FILE"] == path
                mounts = {
                    (v["source"], v["target"], v.get("read_only")) for v in service["volumes"]
                }
                assert ("secrets", str(SECRETS_DIR), True) in mounts, name


def test_each_python_image_is_built_from_its_package(production: dict[str, Any]) -> None:
    packages = {"secrets": "migrator", "roles": "migrator", "migrator": "migrator", "api": "api"}
    for service, package in packages.items():
        build = production["services"][service]["build"]
        assert ROOT / build["context"] / build["dockerfile"] == DOCKERFILE, service
        assert build["args"]["PACKAGE"] == package, service
        assert "target" not in build, f"{service}: the Dockerfile's last stage is PACKAGE's"


def test_the_secrets_steps_ids_are_the_images_own(production: dict[str, Any]) -> None:
    for package, uid in (("api", API_UID), ("migrator", MIGRATOR_UID)):
        text = image_stage(package)
        assert re.search(rf"useradd --system --uid {uid} ", text), package
        assert f"\nUSER {uid}:{uid}\n" in text, package
    assert production["services"]["roles"]["group_add"] == [str(gid) for gid in READER_GIDS]
    development = rendered("compose.yaml", "compose.override.yaml")
    # The development migrator runs as you: it may read the owner's password, no other.
    assert development["services"]["migrator"]["group_add"] == [str(OWNER_PASSWORD_GID)]
    # Without HOST_UID (set by the Makefile), the override keeps the image's user.
    assert development["services"]["migrator"]["user"] == f"{MIGRATOR_UID}:{MIGRATOR_UID}"
