"""The rendered manifests against the facts of the stack: the code's routes and settings,
the images' users, gunicorn's shutdown, the migrator's lock and timeouts, the
database's connections, and compose's front door (services/proxy/haproxy.cfg). Each
test names the invariant it holds."""

from __future__ import annotations

import ipaddress
import math
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from api.http.public_hosts import allowed
from api.settings import ApiDatabaseSettings, ApiSettings, ServerSettings, workers_within_memory
from harness.paths import ROOT
from migrator.settings import DatabaseWaitSettings, MigratorSettings
from migrator.steps.secrets import SECRETS, SECRETS_DIR
from shared_models.settings import ConfigurationError
from tests.compose.dockerfile import image_stage
from tests.deploy.kubernetes.budget import budget
from tests.deploy.kubernetes.front_door import (
    FrontDoor,
    nginx_annotations,
    nginx_buffers,
    nginx_size,
    read_front_door,
)
from tests.deploy.kubernetes.manifests import (
    DEPLOY,
    Obj,
    Rendered,
    Workload,
    image_tag,
    labels_of,
    quantity_bytes,
    quantity_cores,
    selects,
)
from tests.deploy.kubernetes.settings import (
    IMAGE_UID,
    POSTGRES_SECRETS,
    POSTGRES_VARIABLES,
    SERVICE_OF,
    fields,
    load,
    password_settings,
    secret_settings,
)
from tools.api_table import openapi_document
from tools.configuration import (
    COMPOSE_FILES,
    SERVICE_SETTINGS,
    compose_defaults,
    env_value,
    field_default,
    proxy_variables,
)

VERSION = "app.kubernetes.io/version"
# Job names become pod names and a label value: a DNS subdomain of 63 characters at most.
JOB_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
DATABASE_CLIENTS = {"api", "migrator", "roles"}
OUR_IMAGES = {"api", "migrator", "roles"}
PASSWORD_FILES = {secret.variable: f"{SECRETS_DIR}/{secret.file}" for secret in SECRETS}
# The writable /tmp every container gets (gunicorn's control socket, in the api's case).
TMP = "/tmp"  # noqa: S108
# Logs of a finished Job stay readable at least this long.
MIN_JOB_TTL = 3600
# The Service Prometheus finds the api's metrics through (base/api-metrics-service.yaml).
METRICS_SERVICE = "api-metrics"


@pytest.fixture(scope="session")
def openapi_paths() -> set[str]:
    return set(openapi_document()["paths"])


def api_container(rendered: Rendered) -> Obj:
    containers: list[Obj] = rendered.workload("api").pod["containers"]
    assert len(containers) == 1
    return containers[0]


def server_settings(rendered: Rendered) -> ServerSettings:
    return load(ServerSettings, "api", rendered.environment(api_container(rendered)))


def api_settings(rendered: Rendered) -> ApiSettings:
    return load(ApiSettings, "api", rendered.environment(api_container(rendered)))


# --- images and the release -----------------------------------------------------------


def test_every_image_is_pinned(rendered: Rendered) -> None:
    for workload in rendered.workloads:
        for container in workload.containers:
            tag, digest = image_tag(container["image"])
            assert tag or digest, f"{workload.name}: {container['image']} has no tag"
            assert tag != "latest", f"{workload.name}: {container['image']}"


def test_the_release_tags_the_images_and_names_the_jobs(rendered: Rendered) -> None:
    for workload in rendered.workloads:
        if workload.app not in OUR_IMAGES:
            continue
        version = labels_of(workload.obj)[VERSION]
        for container in workload.containers:
            assert image_tag(container["image"])[0] == version, (
                f"{workload.name}: {container['image']} is not release {version}"
            )
        if workload.kind == "Job":
            # A Job's pod template is immutable: each release needs a Job of its own.
            assert workload.name == f"{workload.app}-{version}"
            assert JOB_NAME.match(workload.name), f"not a valid Job name: {workload.name}"


# --- the one-shot Jobs ------------------------------------------------------------------


def job_basics(job: Workload) -> None:
    spec = job.obj["spec"]
    assert 1 <= spec["backoffLimit"] <= 6, job.name
    assert spec["ttlSecondsAfterFinished"] >= MIN_JOB_TTL, job.name
    assert spec.get("parallelism", 1) == 1, job.name  # the budget counts one pod
    assert spec.get("completions", 1) == 1, job.name
    assert job.pod["restartPolicy"] == "Never", job.name  # each try is a pod, for its logs
    rules = spec["podFailurePolicy"]["rules"]
    assert any(
        rule["action"] == "Ignore"
        and {"type": "DisruptionTarget", "status": "True"} in rule.get("onPodConditions", [])
        for rule in rules
    ), f"{job.name}: an evicted pod would count as a failure"


def test_the_migrator_job_runs_upgrade_head_within_its_deadline(rendered: Rendered) -> None:
    (job,) = rendered.workloads_of("migrator")
    job_basics(job)
    (container,) = job.pod["containers"]
    assert 'ENTRYPOINT ["migrator"]' in image_stage("migrator")
    assert "command" not in container, "the image's entrypoint is the migrator's CLI"
    assert container["args"] == ["upgrade", "head"]
    environment = rendered.environment(container)
    settings = load(MigratorSettings, "migrator", environment)
    # A Job that waited all it may for the database and for the lock still has time for
    # one longest statement before Kubernetes kills it.
    needed = (
        settings.migrator_db_wait_seconds
        + settings.migrator_lock_wait_seconds
        + settings.migrator_statement_timeout
    )
    assert job.obj["spec"]["activeDeadlineSeconds"] >= needed


def test_the_roles_job_runs_the_roles_step(rendered: Rendered) -> None:
    jobs = rendered.workloads_of("roles")
    if rendered.variant == "prod":
        assert not jobs, "prod leaves the roles step to a superuser (components/roles)"
        return
    (job,) = jobs
    job_basics(job)
    (container,) = job.pod["containers"]
    assert container["command"] == ["python", "-m", "migrator.steps.roles"]
    assert "args" not in container
    (migrator,) = rendered.workloads_of("migrator")
    assert container["image"] == migrator.pod["containers"][0]["image"], "the migrator image"
    settings = load(DatabaseWaitSettings, "roles", rendered.environment(container))
    assert job.obj["spec"]["activeDeadlineSeconds"] > settings.migrator_db_wait_seconds


# --- the api Deployment -----------------------------------------------------------------


def test_the_api_rolls_out_without_losing_a_ready_pod(rendered: Rendered) -> None:
    deployment = rendered.workload("api").obj
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] not in (0, "0%")
    # The autoscaler owns the replica count; a `replicas` here would reset it on apply.
    assert "replicas" not in deployment["spec"]
    assert 'CMD ["gunicorn", "--config", "python:api.gunicorn_conf"]' in image_stage("api")
    assert "command" not in api_container(rendered), "the image's CMD serves the api"
    assert "args" not in api_container(rendered)


def test_the_api_probes_its_health_routes(rendered: Rendered, openapi_paths: set[str]) -> None:
    api = rendered.workload("api")
    container = api_container(rendered)
    bind_port = int(server_settings(rendered).gunicorn_bind.rsplit(":", 1)[1])
    expected = {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        # Liveness and startup never touch the database (a database outage must not
        # restart the api); readiness is "the schema has what this code reads".
        assert get["path"] == path, probe
        assert get["path"] in openapi_paths, f"{probe}: {get['path']} is no route of the app"
        assert api.port_number(get["port"]) == bind_port, f"{probe}: not GUNICORN_BIND's port"


def pre_stop_seconds(container: Obj) -> int:
    """The preStop pause: the `sleep` action, or python's time.sleep in an exec."""
    pre_stop = container["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"]["seconds"])
    command = " ".join(pre_stop["exec"]["command"])
    match = re.search(r"time\.sleep\((\d+)\)", command)
    assert match, f"preStop is no pause: {command}"
    return int(match[1])


def test_the_api_drains_before_it_is_killed(rendered: Rendered) -> None:
    pod = rendered.workload("api").pod
    pause = pre_stop_seconds(api_container(rendered))
    assert pause >= 5, "endpoints need a few seconds to drop the pod"
    graceful = server_settings(rendered).gunicorn_graceful_timeout
    # The grace period counts from the start of preStop; SIGTERM comes after the pause,
    # then gunicorn gives in-flight requests GUNICORN_GRACEFUL_TIMEOUT.
    assert pod["terminationGracePeriodSeconds"] > pause + graceful


def test_the_api_spreads_across_nodes(rendered: Rendered) -> None:
    api = rendered.workload("api")
    constraints = {c["topologyKey"]: c for c in api.pod["topologySpreadConstraints"]}
    by_node = constraints["kubernetes.io/hostname"]
    assert selects(by_node["labelSelector"], api.pod_labels)
    assert by_node["maxSkew"] == 1
    if rendered.variant.startswith("prod"):
        assert by_node["whenUnsatisfiable"] == "DoNotSchedule"


def test_the_api_workers_are_set_and_fit_the_cpus_requested(rendered: Rendered) -> None:
    container = api_container(rendered)
    # The default is every CPU of the node, whatever the pod was given.
    assert "WEB_CONCURRENCY" in rendered.environment(container)
    cpus = quantity_cores(container["resources"]["requests"]["cpu"])
    assert server_settings(rendered).web_concurrency <= max(1, math.ceil(cpus))


# --- every pod and container ------------------------------------------------------------


def effective(pod: Obj, container: Obj, key: str) -> Any:
    """A securityContext field: the container's, else the pod's."""
    return container.get("securityContext", {}).get(key, pod.get("securityContext", {}).get(key))


def test_every_pod_runs_hardened(rendered: Rendered) -> None:
    accounts = {obj["metadata"]["name"]: obj for obj in rendered.of_kind("ServiceAccount")}
    for workload in rendered.workloads:
        pod, name = workload.pod, workload.name
        assert pod["automountServiceAccountToken"] is False, name
        account = pod["serviceAccountName"]
        assert account in accounts, f"{name}: {account}"
        assert accounts[account]["automountServiceAccountToken"] is False, account
        # No {SERVICE}_HOST/_PORT variables: they would be read as settings.
        assert pod["enableServiceLinks"] is False, name
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(host), f"{name}: {host}"
        assert all("hostPath" not in volume for volume in pod.get("volumes", [])), name
        tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in workload.containers:
            where = f"{name}/{container['name']}"
            assert effective(pod, container, "runAsNonRoot") is True, where
            assert effective(pod, container, "runAsUser") == IMAGE_UID[workload.app], where
            assert effective(pod, container, "readOnlyRootFilesystem") is True, where
            assert effective(pod, container, "allowPrivilegeEscalation") is False, where
            assert not effective(pod, container, "privileged"), where
            assert effective(pod, container, "seccompProfile") == {"type": "RuntimeDefault"}
            capabilities = container["securityContext"]["capabilities"]
            assert capabilities["drop"] == ["ALL"], where
            assert "add" not in capabilities, where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get(TMP) in tmp_volumes, f"{where}: no writable /tmp"


def test_every_container_has_resources(rendered: Rendered) -> None:
    for workload in rendered.workloads:
        for container in workload.containers:
            resources = container["resources"]
            where = f"{workload.name}/{container['name']}"
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert "memory" in resources["limits"], where


# --- settings -----------------------------------------------------------------------------


def test_every_variable_is_a_setting_of_its_service(rendered: Rendered) -> None:
    for workload in rendered.workloads:
        service = SERVICE_OF[workload.app]
        allowed = POSTGRES_VARIABLES if service == "db" else set(fields(service))
        allowed |= {f"{name}_FILE" for name in allowed}
        for container in workload.containers:
            for name in rendered.environment(container):
                assert name in allowed, f"{workload.name}: {name} is no setting of {service}"
            for config_map, key in rendered.config_map_keys(container):
                assert key in allowed, f"{config_map}: {key} is no setting of {service}"


def test_every_secret_arrives_as_a_file_of_a_secret(rendered: Rendered) -> None:
    for workload in rendered.workloads:
        service = SERVICE_OF[workload.app]
        secrets = POSTGRES_SECRETS if service == "db" else secret_settings(service)
        passwords = POSTGRES_SECRETS if service == "db" else password_settings(service)
        for container in workload.containers:
            where = f"{workload.name}/{container['name']}"
            environment = rendered.environment(container)
            assert not secrets & set(environment), f"{where}: a secret as a plain value"
            for variable in container.get("env", []):
                assert "secretKeyRef" not in variable.get("valueFrom", {}), where
            assert all("secretRef" not in source for source in container.get("envFrom", []))
            files = secret_files(workload, container)
            for password in passwords:
                path = environment.get(f"{password}_FILE")
                assert path == PASSWORD_FILES[password], f"{where}: {password}_FILE={path}"
                assert path in files, f"{where}: {path} is no file of a mounted Secret"


def secret_files(workload: Workload, container: Obj) -> set[str]:
    """Paths of the files the container sees from Secrets, on read-only mounts."""
    sources: dict[str, list[Obj]] = {}
    for volume in workload.pod.get("volumes", []):
        if "projected" in volume:
            sources[volume["name"]] = [s["secret"] for s in volume["projected"]["sources"]]
        elif "secret" in volume:
            sources[volume["name"]] = [volume["secret"]]
    files = set()
    for mount in container.get("volumeMounts", []):
        for secret in sources.get(mount["name"], []):
            assert mount.get("readOnly") is True, f"{workload.name}: {mount['mountPath']}"
            for item in secret["items"]:
                files.add(f"{mount['mountPath']}/{item['path']}")
    return files


def test_settings_are_valid_and_no_default_is_restated(rendered: Rendered) -> None:
    for workload in rendered.workloads:
        service = SERVICE_OF[workload.app]
        if service == "db":
            continue
        known = fields(service)
        for container in workload.containers:
            environment = rendered.environment(container)
            for name, value in environment.items():
                if name in known and value is not None:
                    info = known[name]
                    assert value not in (env_value(info.default), field_default(info)), (
                        f"{workload.name}: {name}={value} restates the default"
                    )
            for settings_class in SERVICE_SETTINGS[service]:
                try:
                    load(settings_class, service, environment)
                except ConfigurationError as exc:  # it names the variable
                    raise AssertionError(f"{workload.name}: {exc}") from None


def test_no_secret_value_is_committed() -> None:
    # What is committed, or would be by `git add` (the files git does not ignore).
    committed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "deploy/kubernetes"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert committed, "deploy/kubernetes is missing"
    for path in committed:
        assert "/secrets/" not in path, path
        text = (ROOT / path).read_text()
        if path.endswith((".yaml", ".yml")):
            kinds = {doc.get("kind") for doc in yaml.safe_load_all(text) if isinstance(doc, dict)}
            assert "Secret" not in kinds, f"{path} holds a Secret"
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", "deploy/kubernetes/overlays/dev/secrets/x"],
        cwd=ROOT, check=False,
    )  # fmt: skip
    assert ignored.returncode == 0, "the dev overlay's secrets/ must be git-ignored"


def test_only_dev_makes_secrets_and_from_generated_files(rendered: Rendered) -> None:
    secrets = rendered.of_kind("Secret")
    if rendered.variant != "dev":
        assert not secrets, "production Secrets are created outside git"
        return
    names = {secret["metadata"]["name"].rsplit("-", 1)[0] for secret in secrets}
    assert names == {"db-superuser", "db-owner", "db-api", "api-token-keys"}
    kustomization = yaml.safe_load((DEPLOY / "overlays/dev/kustomization.yaml").read_text())
    for generator in kustomization["secretGenerator"]:
        for source in generator["files"]:
            assert source.split("=", 1)[1].startswith("secrets/"), source


# --- Service, PodDisruptionBudget, HorizontalPodAutoscaler --------------------------------


def test_the_service_budget_and_autoscaler_fit_the_api(rendered: Rendered) -> None:
    api = rendered.workload("api")
    service = rendered.one("Service", "api")
    assert [
        w.name for w in rendered.pods_selected_by({"matchLabels": service["spec"]["selector"]})
    ] == ["api"]
    for port in service["spec"]["ports"]:
        assert api.port_number(port["targetPort"]) == 8000
    pdb = rendered.one("PodDisruptionBudget", "api")["spec"]
    assert [w.name for w in rendered.pods_selected_by(pdb["selector"])] == ["api"]
    # A drain must always be able to proceed, one pod at a time.
    assert pdb["maxUnavailable"] == 1
    assert "minAvailable" not in pdb
    assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    hpa = rendered.one("HorizontalPodAutoscaler", "api")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    if rendered.variant.startswith("prod"):
        assert hpa["minReplicas"] >= 2, "one pod is no redundancy"
    assert "cpu" in api_container(rendered)["resources"]["requests"], "the HPA scales on CPU"


# --- the metrics ---------------------------------------------------------------------------


def service_targets(rendered: Rendered, service: Obj) -> set[int]:
    """The api's ports a Service sends to (nothing, if it selects no api pod)."""
    api = rendered.workload("api")
    if not selects({"matchLabels": service["spec"].get("selector", {})}, api.pod_labels):
        return set()
    return {api.port_number(port["targetPort"]) for port in service["spec"]["ports"]}


def test_the_api_shows_its_metrics_on_a_port_of_their_own(rendered: Rendered) -> None:
    metrics = rendered.workload("api").port_number("metrics")
    assert metrics == api_settings(rendered).metrics_port, "the `metrics` port is not METRICS_PORT"
    bind_port = int(server_settings(rendered).gunicorn_bind.rsplit(":", 1)[1])
    assert metrics != bind_port, "/metrics would answer on the requests' port"


def test_metrics_are_reached_through_their_own_service_only(rendered: Rendered) -> None:
    metrics = rendered.workload("api").port_number("metrics")
    for service in rendered.of_kind("Service"):
        name, targets = service["metadata"]["name"], service_targets(rendered, service)
        if name == METRICS_SERVICE:
            assert targets == {metrics}, f"{name} sends to {sorted(targets)}"
            # Every pod found and scraped on its own, never one at random behind an IP.
            assert service["spec"].get("clusterIP") == "None", f"{name} is not headless"
            assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
        else:
            assert metrics not in targets, f"Service {name} exposes the metrics"


# --- the front door (prod: ingress-nginx) -------------------------------------------------

INGRESS_CLASS = "nginx"
# Tried again only when the api never answered (a refused or dropped connection, a
# connect past its timeout); a POST or PATCH once sent never, unless `non_idempotent`
# is listed (nginx), which it must not be.
NEXT_UPSTREAM = ["error", "timeout"]
# nginx counts the first try: the first and two more (compose: retries 3 after it).
NEXT_UPSTREAM_TRIES = 3
# The ingress-nginx controller's ConfigMap (deploy/kubernetes/ingress-nginx), and the
# keys the front door needs in it.
CONTROLLER_CONFIG = "ingress-nginx-controller"
CONTROLLER_NAMESPACE = "ingress-nginx"
CONTROLLER_KEYS = (
    "client-header-buffer-size",
    "large-client-header-buffers",
    "client-header-timeout",
    "client-body-timeout",
    "keep-alive",
    "limit-conn-status-code",
    "limit-req-status-code",
    "upstream-keepalive-timeout",
    "ssl-protocols",
    "hsts-max-age",
)
# How each annotation reads (the rest are whole numbers: seconds, connections, tries).
READ_ANNOTATION: dict[str, Callable[[str], object]] = {
    "proxy-body-size": nginx_size,
    "proxy-request-buffering": str,
    "proxy-next-upstream": str.split,
}


def the_ingress(rendered: Rendered, name: str = "api") -> Obj | None:
    """The api's Ingress (or its logins', api-login): prod's; dev has none (kubectl
    port-forward)."""
    ingresses = rendered.of_kind("Ingress")
    if rendered.variant == "dev":
        assert not ingresses, "dev is reached by kubectl port-forward"
        return None
    names = sorted(ingress["metadata"]["name"] for ingress in ingresses)
    assert names == ["api", "api-login"], f"{rendered.variant}: Ingresses {names}"
    return rendered.one("Ingress", name)


def test_the_ingress_carries_the_limits_of_compose_s_front_door(rendered: Rendered) -> None:
    ingress = the_ingress(rendered)
    if ingress is None:
        return
    door = read_front_door()
    wanted: dict[str, object] = {
        "proxy-body-size": api_settings(rendered).max_body_bytes,
        "proxy-request-buffering": "on",
        "limit-connections": door.open_connections,
        "proxy-connect-timeout": door.connect_seconds,
        "proxy-read-timeout": door.server_seconds,
        "proxy-send-timeout": door.server_seconds,
        "proxy-next-upstream": NEXT_UPSTREAM,
        "proxy-next-upstream-tries": NEXT_UPSTREAM_TRIES,
        # A request that waited its whole read timeout is not sent again.
        "proxy-next-upstream-timeout": door.server_seconds,
    }
    annotations = nginx_annotations(ingress)
    missing = sorted(set(wanted) - set(annotations))
    assert not missing, f"the Ingress lacks {missing}"
    for name, value in wanted.items():
        read = READ_ANNOTATION.get(name, int)(annotations[name])
        assert read == value, f"{name} is {annotations[name]}, not {value} (as compose's)"


def test_logins_have_an_ingress_limiting_them_per_address_as_compose_does(
    rendered: Rendered,
) -> None:
    """POST /token, PROXY_LOGINS_PER_ADDRESS a minute from one address: limit-rpm counts
    every path of its Ingress, so /token has one of its own, with every limit of the
    api's Ingress too (an Ingress inherits none)."""
    login, api = the_ingress(rendered, "api-login"), the_ingress(rendered)
    if login is None or api is None:
        return
    paths = [path for rule in login["spec"]["rules"] for path in rule["http"]["paths"]]
    assert [(p["path"], p["pathType"]) for p in paths] == [("/token", "Exact")]
    assert [r["host"] for r in login["spec"]["rules"]] == [r["host"] for r in api["spec"]["rules"]]
    annotations, of_api = nginx_annotations(login), nginx_annotations(api)
    differing = sorted(name for name in of_api if annotations.get(name) != of_api[name])
    assert not differing, f"api-login lacks the api Ingress's {differing}"
    logins = {v.name: v.default for v in proxy_variables()}["PROXY_LOGINS_PER_ADDRESS"]
    assert annotations.get("limit-rpm") == logins, "not compose's logins a minute"
    # The controller's multiplier is 5: a burst of 150 logins before the first 429.
    assert annotations.get("limit-burst-multiplier") == "1", "a burst past the limit"


def service_port(service: Obj, port: Obj) -> Obj:
    """The port of a Service an Ingress backend names (by name or by number)."""
    key, value = ("name", port["name"]) if "name" in port else ("port", port["number"])
    found: list[Obj] = [p for p in service["spec"]["ports"] if p.get(key) == value]
    assert len(found) == 1, f"Service {service['metadata']['name']}: no port {value}"
    return found[0]


def test_the_ingress_sends_the_api_s_hosts_to_its_requests_port(rendered: Rendered) -> None:
    """Both Ingresses: the api's, and its logins' (api-login)."""
    for name in ("api", "api-login"):
        ingress = the_ingress(rendered, name)
        if ingress is None:
            return
        check_routes(rendered, ingress["spec"])


def check_routes(rendered: Rendered, spec: Obj) -> None:
    api = rendered.workload("api")
    public_hosts = api_settings(rendered).public_host_names
    assert spec.get("ingressClassName") == INGRESS_CLASS, "not ingress-nginx's: no limits"
    assert "defaultBackend" not in spec, "every host's requests would reach the api"
    assert "*" not in public_hosts, "the api would answer to any Host"
    with_tls = {
        host for tls in spec.get("tls", []) if tls.get("secretName") for host in tls["hosts"]
    }
    for rule in spec["rules"]:
        host = rule.get("host")
        assert host, "a rule without a host takes every Host"
        # Any other Host is the api's 400: the Ingress would send only refusals.
        assert allowed(host, public_hosts), f"{host} is not in PUBLIC_HOSTS {public_hosts}"
        assert host in with_tls, f"{host} has no certificate"
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            service = rendered.one("Service", backend["name"])
            target = service_port(service, backend["port"])["targetPort"]
            assert service_targets(rendered, service), f"{backend['name']} is not the api"
            assert api.port_number(target) == api.port_number("http"), f"{host}: to {target}"


def test_the_ingress_controller_carries_the_server_wide_limits(
    controller: Rendered, renders: dict[str, Rendered]
) -> None:
    (config,) = controller.of_kind("ConfigMap")
    where = (config["metadata"]["name"], config["metadata"].get("namespace"))
    assert where == (CONTROLLER_CONFIG, CONTROLLER_NAMESPACE), f"the controller reads no {where}"
    for variant, rendered in renders.items():
        names = {obj["metadata"]["name"] for obj in rendered.of_kind("ConfigMap")}
        assert CONTROLLER_CONFIG not in names, f"{variant} would move it to its namespace"
    data: dict[str, str] = config["data"]
    missing = sorted(set(CONTROLLER_KEYS) - set(data))
    assert not missing, f"the controller's ConfigMap lacks {missing}"
    door = read_front_door()
    # nginx reads a head into client-header-buffer-size, then into at most `number`
    # buffers of `size` (each line within one): 16 KiB in all, as compose's.
    number, size = nginx_buffers(data["large-client-header-buffers"])
    head = nginx_size(data["client-header-buffer-size"]) + number * size
    assert head == door.head_bytes, f"a head of up to {head} bytes, not {door.head_bytes}"
    seconds = {
        "client-header-timeout": door.head_seconds,
        "client-body-timeout": door.client_seconds,
        "keep-alive": door.keep_alive_seconds,
    }
    for name, value in seconds.items():
        assert int(data[name]) == value, f"{name} is {data[name]}, not {value} (as compose's)"
    for name in ("limit-conn-status-code", "limit-req-status-code"):
        assert int(data[name]) == door.past_open_connections, f"{name} is {data[name]}"
    # nginx lets an idle connection to a pod go before the api closes it: never a
    # request on a connection the api is closing (a POST would be a 502).
    api_keepalive = {server_settings(r).gunicorn_keepalive for r in renders.values()}
    assert int(data["upstream-keepalive-timeout"]) < min(api_keepalive), "idle api connections"
    assert data.get("retry-non-idempotent", "false") == "false", "writes sent twice"
    check_https(data, door)


def check_https(data: dict[str, str], door: FrontDoor) -> None:
    """TLS versions, the redirect and HSTS as compose's; no client believed on its word.
    (A key left out is the controller's default: said where it is not compose's.)"""
    versions = tuple(data["ssl-protocols"].split())
    assert versions == door.tls_versions, f"TLS {versions}, not {door.tls_versions}"
    assert data.get("use-http2", "true") == "true", "no HTTP/2"
    assert data.get("ssl-redirect", "true") == "true", "plain HTTP served"
    redirect = int(data.get("http-redirect-code", "308"))
    assert redirect == door.redirect_status, f"plain HTTP gets a {redirect}"
    assert data.get("hsts", "true") == "true", "no Strict-Transport-Security"
    assert int(data["hsts-max-age"]) == door.hsts_seconds, f"HSTS max-age {data['hsts-max-age']}"
    for directive in ("hsts-include-subdomains", "hsts-preload"):
        assert data.get(directive) == "false", f"{directive}: compose sends max-age alone"
    # Believing X-Forwarded-For from anywhere is any client naming itself.
    if data.get("use-forwarded-headers") == "true":
        cidrs = data.get("proxy-real-ip-cidr", "0.0.0.0/0").split(",")
        assert all(ipaddress.ip_network(c.strip()).prefixlen > 0 for c in cidrs), (
            "use-forwarded-headers without proxy-real-ip-cidr: any client names itself"
        )


def test_the_api_believes_forwarded_headers_from_its_proxies_only(rendered: Rendered) -> None:
    environment = rendered.environment(api_container(rendered))
    for item in server_settings(rendered).trusted_proxies.split(","):
        assert item.strip() != "*", "any client could say who it is"
        try:
            network = ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise AssertionError(f"TRUSTED_PROXIES: {item} is no address or network") from None
        assert network.prefixlen > 0, f"TRUSTED_PROXIES: {item} is every address"
    if rendered.of_kind("Ingress"):
        # Left at 127.0.0.1, every client would be the controller, on http.
        assert "TRUSTED_PROXIES" in environment, "the ingress controller is not believed"


# --- network policies ---------------------------------------------------------------------


# Who may scrape the api's metrics: Prometheus's pods in the namespace `monitoring`
# (base/networkpolicies.yaml; deploy/kubernetes/README.md, "The front door").
MONITORING = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


def policies(rendered: Rendered, workload: Workload, direction: str) -> list[Obj]:
    return [
        policy
        for policy in rendered.of_kind("NetworkPolicy")
        if direction in policy["spec"]["policyTypes"]
        and selects(policy["spec"]["podSelector"], workload.pod_labels)
    ]


def rules(rendered: Rendered, workload: Workload, direction: str) -> list[Obj]:
    key = direction.lower()
    return [
        rule for p in policies(rendered, workload, direction) for rule in p["spec"].get(key, [])
    ]


def database_port(rendered: Rendered) -> int:
    environment = rendered.environment(api_container(rendered))
    return load(ApiDatabaseSettings, "api", environment).postgres_port


def test_every_pod_is_denied_all_traffic_but_what_is_allowed(rendered: Rendered) -> None:
    deny = [
        p for p in rendered.of_kind("NetworkPolicy")
        if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress") and not p["spec"].get("egress")
    ]  # fmt: skip
    assert deny, "no default-deny policy"


def test_the_api_accepts_requests_on_http_and_prometheus_on_metrics(rendered: Rendered) -> None:
    api = rendered.workload("api")
    http, metrics = api.port_number("http"), api.port_number("metrics")
    ingress = rules(rendered, api, "Ingress")
    opened: set[int] = set()
    for rule in ingress:
        assert rule.get("ports"), "a rule without ports opens every port"
        ports = {api.port_number(port["port"]) for port in rule["ports"]}
        # One port a rule: metrics beside http would be open to whoever sends requests.
        assert ports in ({http}, {metrics}), f"a rule opens {sorted(ports)}"
        if ports == {metrics}:
            # No `from` is from anywhere; a namespace alone is every pod in it.
            assert rule.get("from") == [MONITORING], f"metrics open to {rule.get('from')}"
        opened |= ports
    assert opened == {http, metrics}, f"open: {sorted(opened)}"


def test_the_jobs_accept_no_traffic(rendered: Rendered) -> None:
    for workload in rendered.workloads:
        if workload.kind == "Job":
            assert not rules(rendered, workload, "Ingress"), workload.name


def test_only_the_api_and_the_jobs_reach_the_database(rendered: Rendered) -> None:
    port = database_port(rendered)
    postgres = rendered.workloads_of("postgres")
    for workload in rendered.workloads:
        egress = rules(rendered, workload, "Egress")
        for rule in egress:
            # Nothing leaves a pod but name lookups and database connections.
            assert rule.get("ports"), f"{workload.name}: egress to every port"
            ports = {p["port"] for p in rule["ports"]}
            assert ports in ({53}, {port}), f"{workload.name}: egress to {ports}"
            if ports == {port}:
                assert workload.app in DATABASE_CLIENTS, f"{workload.name} reaches the database"
                for peer in rule["to"]:
                    if "ipBlock" in peer:
                        assert peer["ipBlock"]["cidr"] not in ("0.0.0.0/0", "::/0")
                    else:
                        assert postgres, "a pod selector, but no database pod"
                        assert rendered.pods_selected_by(peer["podSelector"]) == postgres
        reaches = any({p["port"] for p in rule["ports"]} == {port} for rule in egress)
        assert reaches == (workload.app in DATABASE_CLIENTS), workload.name
    for database in postgres:
        for rule in rules(rendered, database, "Ingress"):
            assert {database.port_number(p["port"]) for p in rule["ports"]} == {port}
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, "from this namespace's pods only"
                clients = {w.app for w in rendered.pods_selected_by(peer["podSelector"])}
                assert clients <= DATABASE_CLIENTS, clients


# --- the connection budget ------------------------------------------------------------


def test_the_connection_budget_fits_max_connections(rendered: Rendered) -> None:
    numbers = budget(rendered)
    assert numbers.reserved >= numbers.superuser_reserved, "the reserve is the superuser's too"
    assert numbers.used <= numbers.max_connections, f"{rendered.variant}: {numbers.line()}"


def test_the_readme_states_each_budget(renders: dict[str, Rendered]) -> None:
    readme = (DEPLOY / "README.md").read_text()
    for variant in ("dev", "prod"):
        assert budget(renders[variant]).line() in readme, f"README: the {variant} budget"


# --- the memory budget ------------------------------------------------------------------


def test_the_api_workers_hashes_fit_the_pods_memory_limit(rendered: Rendered) -> None:
    """The api's own check at start (api.settings.workers_within_memory), made offline:
    WEB_CONCURRENCY's hashes at once must fit in half the pod's memory limit, or the api
    would stop, naming them."""
    (container,) = rendered.workload("api").pod["containers"]
    environment = rendered.environment(container)
    server = load(ServerSettings, "api", environment)
    cost = load(ApiSettings, "api", environment)
    limit = quantity_bytes(container["resources"]["limits"]["memory"])
    try:
        workers = workers_within_memory(server, cost, limit)
    except ConfigurationError as refused:
        raise AssertionError(f"{rendered.variant}: {refused}") from refused
    assert workers == server.web_concurrency


# --- the dev database -------------------------------------------------------------------


def test_the_dev_database_is_compose_s_db(renders: dict[str, Rendered]) -> None:
    dev = renders["dev"]
    (database,) = dev.workloads_of("postgres")
    assert database.kind == "StatefulSet"
    (container,) = database.pod["containers"]
    assert container["image"] == compose_defaults()["POSTGRES_IMAGE"] == "postgres:17"
    compose = yaml.safe_load(COMPOSE_FILES[0].read_text())
    healthcheck = compose["services"]["db"]["healthcheck"]["test"]
    # The same check as compose's healthcheck (compose writes a literal $ as $$).
    assert healthcheck[0] == "CMD-SHELL"
    shell_command = healthcheck[1].replace("$$", "$")
    assert container["readinessProbe"]["exec"]["command"] == ["sh", "-c", shell_command]
    (claim,) = database.obj["spec"]["volumeClaimTemplates"]
    data = dev.environment(container)["PGDATA"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert data is not None
    assert data.startswith(mounts[claim["metadata"]["name"]] + "/"), "data on the volume"
    for variant in ("prod", "prod+roles"):
        assert not renders[variant].workloads_of("postgres"), "prod's database is external"


def test_the_namespace_enforces_the_restricted_pod_security(rendered: Rendered) -> None:
    (namespace,) = rendered.of_kind("Namespace")
    assert labels_of(namespace)["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {obj["metadata"].get("namespace") for obj in rendered.objects} - {None} == {
        namespace["metadata"]["name"]
    }
