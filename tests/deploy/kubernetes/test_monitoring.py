"""The monitoring component: the rules and the dashboard as ConfigMaps, byte for byte the
files compose's Prometheus reads, in every variant; and the ServiceMonitor example,
which selects the api's metrics Service and its port."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.deploy.kubernetes.manifests import DEPLOY, MONITORING, Rendered, selects

SERVICE_MONITOR = DEPLOY / "components" / "monitoring" / "servicemonitor.yaml"


def test_the_rules_and_the_dashboard_are_the_compose_profiles_files(rendered: Rendered) -> None:
    rules = rendered.config_map("prometheus-rules")["data"]
    on_disk = {path.name: path for path in (MONITORING / "prometheus" / "rules").glob("*.yaml")}
    assert set(rules) == set(on_disk), "a rule file is missing from services/monitoring"
    for name, path in on_disk.items():
        assert rules[name] == path.read_text(), name
    dashboard = rendered.config_map("grafana-dashboard-api")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"]["api.json"] == (MONITORING / "dashboards" / "api.json").read_text()


def test_the_service_monitor_example_selects_the_api_metrics_port(rendered: Rendered) -> None:
    monitor = yaml.safe_load(SERVICE_MONITOR.read_text())
    assert monitor["kind"] == "ServiceMonitor"
    services = [
        service
        for service in rendered.of_kind("Service")
        if selects(monitor["spec"]["selector"], service["metadata"].get("labels", {}))
    ]
    assert [service["metadata"]["name"] for service in services] == ["api-metrics"]
    (service,) = services
    ports = {port["name"] for port in service["spec"]["ports"]}
    assert {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]} <= ports
    # Headless: every pod its own target, never one at random behind a virtual IP.
    assert service["spec"]["clusterIP"] == "None"
    pods = rendered.pods_selected_by({"matchLabels": service["spec"]["selector"]})
    assert [pod.app for pod in pods] == ["api"]


def test_the_example_is_not_applied(rendered: Rendered) -> None:
    """Its CRD may be missing: `kubectl apply -k` would then fail on it."""
    assert not rendered.of_kind("ServiceMonitor")
    assert Path(SERVICE_MONITOR).exists()
