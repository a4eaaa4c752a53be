"""The monitoring profile in the compose files: hardened like the rest, publishing
nothing in production and the UIs on 127.0.0.1 alone in development, on the networks it
needs, the exporter as its own user with its own password file and role."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from harness.paths import ROOT
from migrator.image_users import EXPORTER_UID
from migrator.monitoring import EXPORTER_ROLE
from migrator.steps.secrets import SECRETS, SECRETS_DIR
from tests.support.docker import with_compose_or_skip
from tools.monitoring import DEVELOPMENT_CONFIG

MONITORING_SERVICES = ("prometheus", "alertmanager", "postgres-exporter")
IMAGES = {
    "prometheus": "PROMETHEUS_IMAGE",
    "alertmanager": "ALERTMANAGER_IMAGE",
    "postgres-exporter": "POSTGRES_EXPORTER_IMAGE",
}


def rendered(*files: str, profile: bool = True) -> dict[str, Any]:
    with_compose_or_skip()
    command = ["docker", "compose", *(arg for file in files for arg in ("-f", file))]
    result = subprocess.run(
        [*command, *(["--profile", "monitoring"] if profile else []), "config", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
    )  # fmt: skip
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    return services


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    return rendered("compose.yaml")


def test_the_profile_adds_its_services_and_nothing_starts_without_it() -> None:
    assert not set(MONITORING_SERVICES) & set(rendered("compose.yaml", profile=False))


@pytest.mark.parametrize("name", MONITORING_SERVICES)
def test_each_runs_hardened_and_bounded(production: dict[str, Any], name: str) -> None:
    service = production[name]
    assert service["user"].split(":")[0] not in ("0", "root"), name
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert not service.get("cap_add")
    assert "no-new-privileges:true" in service["security_opt"]
    assert int(service["mem_limit"]) > 0
    assert int(service["pids_limit"]) > 0
    assert service["logging"]["driver"] == "json-file"
    assert service["logging"]["options"]["max-size"]
    assert service["healthcheck"]["test"]
    assert service["restart"] == "unless-stopped"
    # Configuration read-only from services/monitoring; data in named volumes.
    for volume in service["volumes"]:
        if volume["type"] == "bind":
            assert volume["source"].startswith(str(ROOT / "services" / "monitoring"))
            assert volume.get("read_only") is True, volume
        else:
            assert volume["type"] == "volume"


def test_the_images_come_from_variables() -> None:
    text = (ROOT / "compose.yaml").read_text()
    for variable in IMAGES.values():
        assert f"image: ${{{variable}:-" in text, variable


def test_production_publishes_nothing_of_it(production: dict[str, Any]) -> None:
    for name in MONITORING_SERVICES:
        assert not production[name].get("ports"), name


def test_development_publishes_the_uis_on_this_machine_alone() -> None:
    development = rendered("compose.yaml", "compose.override.yaml")
    published = {name for name in MONITORING_SERVICES if development[name].get("ports")}
    assert published == {"prometheus", "alertmanager"}
    for name in published:
        for port in development[name]["ports"]:
            assert port["host_ip"] == "127.0.0.1", name


def test_each_is_on_the_networks_it_needs_and_no_other(production: dict[str, Any]) -> None:
    # Prometheus reaches the api and the proxy on `edge`, never the database.
    assert set(production["prometheus"]["networks"]) == {"edge", "monitoring"}
    assert set(production["alertmanager"]["networks"]) == {"monitoring"}
    assert set(production["postgres-exporter"]["networks"]) == {"backend", "monitoring"}


def test_the_exporter_logs_in_as_its_role_with_its_own_password_file(
    production: dict[str, Any],
) -> None:
    exporter = production["postgres-exporter"]
    (secret,) = [s for s in SECRETS if s.variable == "EXPORTER_DB_PASSWORD"]
    assert exporter["user"] == f"{EXPORTER_UID}:{EXPORTER_UID}"
    assert secret.owner_uid == EXPORTER_UID
    environment = exporter["environment"]
    assert environment["DATA_SOURCE_USER"] == EXPORTER_ROLE
    assert environment["DATA_SOURCE_PASS_FILE"] == f"{SECRETS_DIR}/{secret.file}"
    assert environment["DATA_SOURCE_URI"].startswith("db:5432/postgres?")
    assert production["roles"]["environment"]["EXPORTER_DB_PASSWORD_FILE"] == (
        f"{SECRETS_DIR}/{secret.file}"
    )


def test_the_database_preloads_pg_stat_statements(production: dict[str, Any]) -> None:
    assert "shared_preload_libraries=pg_stat_statements" in production["db"]["command"]


def test_development_prometheus_scrapes_the_port_its_api_serves_metrics_on() -> None:
    """The override's api is one uvicorn with /metrics on its one port: its Prometheus
    reads prometheus.dev.yml, the same as prometheus.yml but for that port."""
    development = rendered("compose.yaml", "compose.override.yaml")
    port = int(development["api"]["environment"]["METRICS_PORT"])
    mounts = {v["target"]: v["source"] for v in development["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/prometheus.yml"] == str(DEVELOPMENT_CONFIG)
    shipped = yaml.safe_load((DEVELOPMENT_CONFIG.parent / "prometheus.yml").read_text())
    dev = yaml.safe_load(DEVELOPMENT_CONFIG.read_text())
    api = next(job for job in dev["scrape_configs"] if job["job_name"] == "api")
    assert [discovery["port"] for discovery in api["dns_sd_configs"]] == [port]
    (shipped_api,) = [job for job in shipped["scrape_configs"] if job["job_name"] == "api"]
    api["dns_sd_configs"] = shipped_api["dns_sd_configs"]
    assert dev == shipped
