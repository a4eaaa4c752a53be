"""The production compose file's security policy, on what compose itself renders
(`docker compose -f compose.yaml config`), and hadolint on the Dockerfiles."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.paths import ROOT
from tests.compose.dockerfile import DOCKERFILE, image_stage
from tests.compose.test_files import rendered

# The services of our own images, and the one allowed to start as root, with why.
OWN_SERVICES = ("secrets", "roles", "migrator", "api")
ROOT_BY_DESIGN = {"secrets": "gives each password file to its reader (CHOWN, FOWNER only)"}
DOCKERFILES = [DOCKERFILE]
# Connections the proxy must be able to hold: 5,000 slow-header attackers and the rest.
MAXCONN_OF_THE_PROXY_AT_LEAST = 9_000


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = rendered("compose.yaml")
    found: dict[str, Any] = document["services"]
    return found


def image_user(service: dict[str, Any]) -> str:
    build = service["build"]
    stage = image_stage(build["args"]["PACKAGE"], ROOT / build["dockerfile"])
    users: list[str] = re.findall(r"^USER (\S+)", stage, flags=re.MULTILINE)
    return users[-1]


@pytest.mark.parametrize("name", OWN_SERVICES)
def test_our_services_run_hardened(services: dict[str, Any], name: str) -> None:
    service = services[name]
    user = str(service.get("user") or image_user(service))
    if name in ROOT_BY_DESIGN:
        assert user.split(":")[0] in ("0", "root"), name
        assert set(service["cap_add"]) <= {"CHOWN", "FOWNER"}
    else:
        assert user.split(":")[0] not in ("0", "root"), f"{name} runs as root"
        assert not service.get("cap_add"), name
    assert service["read_only"] is True, name
    assert service["cap_drop"] == ["ALL"], name
    assert "no-new-privileges:true" in service["security_opt"], name
    assert not service.get("privileged"), name


@pytest.mark.parametrize("name", [*OWN_SERVICES, "db", "proxy"])
def test_every_service_has_memory_and_process_limits(services: dict[str, Any], name: str) -> None:
    assert int(services[name]["mem_limit"]) > 0, name
    assert int(services[name]["pids_limit"]) > 0, name


def test_the_database_is_not_published_and_drops_what_it_can(services: dict[str, Any]) -> None:
    db = services["db"]
    assert not db.get("ports"), "production publishes no database port"
    assert db["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in db["security_opt"]


def test_the_proxy_is_the_only_door(services: dict[str, Any]) -> None:
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    # Plain HTTP (which redirects) and HTTPS.
    assert [port["target"] for port in services["proxy"]["ports"]] == [8080, 8443]
    # The proxy reaches the api, never the database.
    assert set(services["proxy"]["networks"]) == {"edge"}
    assert set(services["db"]["networks"]) == {"backend"}
    assert set(services["api"]["networks"]) == {"edge", "backend"}


def test_the_proxy_runs_hardened_with_room_for_its_connections(services: dict[str, Any]) -> None:
    proxy = services["proxy"]
    assert proxy["read_only"] is True
    assert proxy["cap_drop"] == ["ALL"]
    assert not proxy.get("cap_add")
    assert "no-new-privileges:true" in proxy["security_opt"]
    assert proxy["ulimits"]["nofile"]["soft"] >= 2 * MAXCONN_OF_THE_PROXY_AT_LEAST + 1000


def test_every_container_log_rotates(services: dict[str, Any]) -> None:
    for name, service in services.items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert logging["options"]["max-size"], name
        assert logging["options"]["max-file"], name


def test_no_password_is_set_anywhere_in_the_file(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for variable, value in service.get("environment", {}).items():
            if "PASSWORD" in variable:
                assert variable.endswith("_FILE"), f"{name}: {variable}"
                assert str(value).startswith("/run/secrets/"), f"{name}: {variable}={value}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
