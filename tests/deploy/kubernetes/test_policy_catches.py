"""The policy tests catch what they claim to: each breaks one rendered object the way a
careless edit would, and the test that guards it must fail."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from tests.deploy.kubernetes import test_policy
from tests.deploy.kubernetes.manifests import Obj, Rendered

Mutation = Callable[[Rendered], None]


def api_pod(rendered: Rendered) -> Obj:
    return rendered.workload("api").pod


def api_container(rendered: Rendered) -> Obj:
    container: Obj = api_pod(rendered)["containers"][0]
    return container


def config_map_of_api(rendered: Rendered, index: int) -> Obj:
    name = api_container(rendered)["envFrom"][index]["configMapRef"]["name"]
    return rendered.config_map(name)


def set_env(name: str, value: str) -> Mutation:
    def mutate(rendered: Rendered) -> None:
        api_container(rendered)["env"].append({"name": name, "value": value})

    return mutate


def migrator_job(rendered: Rendered) -> Obj:
    return rendered.workload("migrator").obj


def api_ingress(rendered: Rendered) -> Obj:
    return rendered.one("NetworkPolicy", "api")


def metrics_ingress(rendered: Rendered) -> Obj:
    rule: Obj = rendered.one("NetworkPolicy", "api-metrics")["spec"]["ingress"][0]
    return rule


def ingress(rendered: Rendered) -> Obj:
    return rendered.one("Ingress", "api")


def annotate(name: str, value: str | None, of: str = "api") -> Mutation:
    """An ingress-nginx annotation of the api's Ingress (or another) changed, or gone."""

    def mutate(rendered: Rendered) -> None:
        annotations = rendered.one("Ingress", of)["metadata"]["annotations"]
        key = f"nginx.ingress.kubernetes.io/{name}"
        if value is None:
            del annotations[key]
        else:
            annotations[key] = value

    return mutate


def api_config(name: str, value: str | None) -> Mutation:
    """A variable of the api's own ConfigMap changed, or gone (None)."""

    def mutate(rendered: Rendered) -> None:
        data = config_map_of_api(rendered, 1)["data"]
        if value is None:
            del data[name]
        else:
            data[name] = value

    return mutate


def ingress_to_the_metrics(rendered: Rendered) -> None:
    backend = ingress(rendered)["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    backend["service"] = {"name": "api-metrics", "port": {"name": "metrics"}}


def ingress_for_another_host(rendered: Rendered) -> None:
    spec = ingress(rendered)["spec"]
    spec["rules"][0]["host"] = "www.example.com"
    spec["tls"][0]["hosts"] = ["www.example.com"]


def metrics_on_the_requests_port(rendered: Rendered) -> None:
    set_env("METRICS_PORT", "8000")(rendered)
    api_container(rendered)["ports"][1].update(containerPort=8000)


def open_database_to_all(rendered: Rendered) -> None:
    rendered.one("NetworkPolicy", "database-clients")["spec"]["podSelector"] = {}


def surge_by_one_unavailable(rendered: Rendered) -> None:
    api_pod_strategy = rendered.workload("api").obj["spec"]["strategy"]["rollingUpdate"]
    api_pod_strategy["maxUnavailable"] = 1


# What breaks -> (the variant it breaks, how, the test that must then fail).
MUTATIONS: dict[str, tuple[str, Mutation, Callable[[Rendered], None]]] = {
    "a pod may go before its successor is ready": (
        "prod",
        surge_by_one_unavailable,
        test_policy.test_the_api_rolls_out_without_losing_a_ready_pod,
    ),
    "a grace period shorter than preStop + GUNICORN_GRACEFUL_TIMEOUT": (
        "prod",
        lambda r: api_pod(r).update(terminationGracePeriodSeconds=30),
        test_policy.test_the_api_drains_before_it_is_killed,
    ),
    "a longer GUNICORN_GRACEFUL_TIMEOUT than the grace period allows": (
        "prod",
        set_env("GUNICORN_GRACEFUL_TIMEOUT", "35"),
        test_policy.test_the_api_drains_before_it_is_killed,
    ),
    "readiness on a path the app does not serve": (
        "prod",
        lambda r: api_container(r)["readinessProbe"]["httpGet"].update(path="/ready"),
        lambda r: test_policy.test_the_api_probes_its_health_routes(r, {"/readyz", "/healthz"}),
    ),
    "liveness that asks the database": (
        "prod",
        lambda r: api_container(r)["livenessProbe"]["httpGet"].update(path="/readyz"),
        lambda r: test_policy.test_the_api_probes_its_health_routes(r, {"/readyz", "/healthz"}),
    ),
    "a variable that is no setting of the api": (
        "prod",
        lambda r: config_map_of_api(r, 1)["data"].update(OWNER_DB_USER="owner"),
        test_policy.test_every_variable_is_a_setting_of_its_service,
    ),
    "a password as a plain variable": (
        "prod",
        set_env("API_DB_PASSWORD", "hunter2"),
        test_policy.test_every_secret_arrives_as_a_file_of_a_secret,
    ),
    "a default restated": (
        "prod",
        lambda r: config_map_of_api(r, 1)["data"].update(DB_POOL_SIZE="10"),
        test_policy.test_settings_are_valid_and_no_default_is_restated,
    ),
    "a value the settings refuse": (
        "prod",
        lambda r: config_map_of_api(r, 1)["data"].update(WEB_CONCURRENCY="zero"),
        test_policy.test_settings_are_valid_and_no_default_is_restated,
    ),
    "workers left to the node's CPU count": (
        "prod",
        lambda r: config_map_of_api(r, 1)["data"].pop("WEB_CONCURRENCY"),
        test_policy.test_the_api_workers_are_set_and_fit_the_cpus_requested,
    ),
    "an image on :latest": (
        "prod",
        lambda r: api_container(r).update(image="registry.example.com/api:latest"),
        test_policy.test_every_image_is_pinned,
    ),
    "a Job not renamed for its release": (
        "prod",
        lambda r: migrator_job(r)["metadata"].update(name="migrator"),
        test_policy.test_the_release_tags_the_images_and_names_the_jobs,
    ),
    "a Job whose deadline cuts the lock wait short": (
        "prod",
        lambda r: migrator_job(r)["spec"].update(activeDeadlineSeconds=600),
        test_policy.test_the_migrator_job_runs_upgrade_head_within_its_deadline,
    ),
    "a container as root": (
        "prod",
        lambda r: api_pod(r)["securityContext"].update(runAsUser=0),
        test_policy.test_every_pod_runs_hardened,
    ),
    "service links on": (
        "prod",
        lambda r: api_pod(r).update(enableServiceLinks=True),
        test_policy.test_every_pod_runs_hardened,
    ),
    "the api open on another port": (
        "prod",
        lambda r: api_ingress(r)["spec"]["ingress"][0]["ports"].append({"port": 9090}),
        test_policy.test_the_api_accepts_requests_on_http_and_prometheus_on_metrics,
    ),
    "the metrics open beside the requests": (
        "prod",
        lambda r: api_ingress(r)["spec"]["ingress"][0]["ports"].append({"port": "metrics"}),
        test_policy.test_the_api_accepts_requests_on_http_and_prometheus_on_metrics,
    ),
    "the metrics open to every pod": (
        "prod",
        lambda r: metrics_ingress(r).pop("from"),
        test_policy.test_the_api_accepts_requests_on_http_and_prometheus_on_metrics,
    ),
    "the metrics open to every pod of the monitoring namespace": (
        "prod",
        lambda r: metrics_ingress(r)["from"][0].pop("podSelector"),
        test_policy.test_the_api_accepts_requests_on_http_and_prometheus_on_metrics,
    ),
    "the metrics unreachable (their policy gone)": (
        "prod",
        lambda r: r.objects.remove(r.one("NetworkPolicy", "api-metrics")),
        test_policy.test_the_api_accepts_requests_on_http_and_prometheus_on_metrics,
    ),
    "the metrics on the port users reach": (
        "prod",
        lambda r: r.one("Service", "api")["spec"]["ports"].append(
            {"name": "metrics", "port": 9100, "targetPort": "metrics"}
        ),
        test_policy.test_metrics_are_reached_through_their_own_service_only,
    ),
    "the metrics Service behind one virtual IP": (
        "prod",
        lambda r: r.one("Service", "api-metrics")["spec"].pop("clusterIP"),
        test_policy.test_metrics_are_reached_through_their_own_service_only,
    ),
    "the metrics port not METRICS_PORT": (
        "prod",
        lambda r: api_container(r)["ports"][1].update(containerPort=9200),
        test_policy.test_the_api_shows_its_metrics_on_a_port_of_their_own,
    ),
    "METRICS_PORT on the requests' port": (
        "prod",
        metrics_on_the_requests_port,
        test_policy.test_the_api_shows_its_metrics_on_a_port_of_their_own,
    ),
    "a body limit above MAX_BODY_BYTES at the Ingress": (
        "prod",
        annotate("proxy-body-size", "10m"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "logins in a burst of 150 (the controller's multiplier)": (
        "prod",
        annotate("limit-burst-multiplier", None, of="api-login"),
        test_policy.test_logins_have_an_ingress_limiting_them_per_address_as_compose_does,
    ),
    "the login Ingress without the api Ingress's body limit": (
        "prod",
        annotate("proxy-body-size", None, of="api-login"),
        test_policy.test_logins_have_an_ingress_limiting_them_per_address_as_compose_does,
    ),
    "the Ingress without its per-address connection limit": (
        "prod",
        annotate("limit-connections", None),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "more connections per address than compose allows": (
        "prod",
        annotate("limit-connections", "100"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "a connect timeout longer than compose's": (
        "prod",
        annotate("proxy-connect-timeout", "5"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "a read timeout left at the controller's 60 s": (
        "prod",
        annotate("proxy-read-timeout", None),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "a send timeout other than compose's": (
        "prod",
        annotate("proxy-send-timeout", "60"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "writes retried after they reached the api": (
        "prod",
        annotate("proxy-next-upstream", "error timeout non_idempotent"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "retries on the api's own 503": (
        "prod",
        annotate("proxy-next-upstream", "error timeout http_503"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "retries without end": (
        "prod",
        annotate("proxy-next-upstream-tries", "0"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "a timed-out request sent again": (
        "prod",
        annotate("proxy-next-upstream-timeout", "0"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "bodies streamed to the api as they trickle in": (
        "prod",
        annotate("proxy-request-buffering", "off"),
        test_policy.test_the_ingress_carries_the_limits_of_compose_s_front_door,
    ),
    "an Ingress for a host the api refuses": (
        "prod",
        ingress_for_another_host,
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "the api answering to any Host": (
        "prod",
        api_config("PUBLIC_HOSTS", "*"),
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "PUBLIC_HOSTS left at localhost": (
        "prod",
        api_config("PUBLIC_HOSTS", None),
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "the Ingress to the metrics": (
        "prod",
        ingress_to_the_metrics,
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "the Ingress without TLS": (
        "prod",
        lambda r: ingress(r)["spec"].pop("tls"),
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "the login Ingress without TLS": (
        "prod",
        lambda r: r.one("Ingress", "api-login")["spec"].pop("tls"),
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "an Ingress another controller takes (and ignores the limits of)": (
        "prod",
        lambda r: ingress(r)["spec"].update(ingressClassName="traefik"),
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "an Ingress rule for every host": (
        "prod",
        lambda r: ingress(r)["spec"]["rules"][0].pop("host"),
        test_policy.test_the_ingress_sends_the_api_s_hosts_to_its_requests_port,
    ),
    "X-Forwarded-* believed from anyone": (
        "prod",
        api_config("TRUSTED_PROXIES", "*"),
        test_policy.test_the_api_believes_forwarded_headers_from_its_proxies_only,
    ),
    "X-Forwarded-* believed from every address": (
        "prod",
        api_config("TRUSTED_PROXIES", "10.0.0.0/8,0.0.0.0/0"),
        test_policy.test_the_api_believes_forwarded_headers_from_its_proxies_only,
    ),
    "the ingress controller's X-Forwarded-* not believed": (
        "prod",
        api_config("TRUSTED_PROXIES", None),
        test_policy.test_the_api_believes_forwarded_headers_from_its_proxies_only,
    ),
    "every pod may reach the database": (
        "dev",  # where a pod other than the clients exists: the database
        open_database_to_all,
        test_policy.test_only_the_api_and_the_jobs_reach_the_database,
    ),
    "more api pods than the database has connections for": (
        "prod",
        lambda r: r.one("HorizontalPodAutoscaler", "api")["spec"].update(maxReplicas=12),
        test_policy.test_the_connection_budget_fits_max_connections,
    ),
    "more workers' hashes than the pod's memory holds": (
        "prod",
        lambda r: api_container(r)["resources"]["limits"].update(memory="256Mi"),
        test_policy.test_the_api_workers_hashes_fit_the_pods_memory_limit,
    ),
    "bigger pools than the database has connections for": (
        "prod",
        lambda r: config_map_of_api(r, 1)["data"].update(DB_POOL_SIZE="13"),
        test_policy.test_the_connection_budget_fits_max_connections,
    ),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_the_policy_fails_on(renders: dict[str, Rendered], mutation: str) -> None:
    variant, mutate, guard = MUTATIONS[mutation]
    guard(renders[variant])  # passes on the real thing
    broken = Rendered(variant, copy.deepcopy(renders[variant].objects))
    mutate(broken)
    with pytest.raises(AssertionError):
        guard(broken)


ControllerMutation = Callable[[dict[str, Rendered], Rendered], None]


def controller_config(name: str, value: str | None) -> ControllerMutation:
    """A key of the ingress controller's ConfigMap changed, or gone (None)."""

    def mutate(renders: dict[str, Rendered], controller: Rendered) -> None:
        data = controller.one("ConfigMap", "ingress-nginx-controller")["data"]
        if value is None:
            del data[name]
        else:
            data[name] = value

    return mutate


def controller_in_the_overlay(renders: dict[str, Rendered], controller: Rendered) -> None:
    renders["prod"].objects.append(copy.deepcopy(controller.objects[0]))


# What breaks in the ingress controller's ConfigMap -> how (given the overlays' objects and
# the controller's: its test reads both, for the api's own keep-alive).
CONTROLLER_MUTATIONS: dict[str, ControllerMutation] = {
    "request heads up to the controller's 33 KiB": controller_config(
        "large-client-header-buffers", "4 8k"
    ),
    "a bigger first buffer than the head's budget leaves": controller_config(
        "client-header-buffer-size", "4k"
    ),
    "the head's time left at the controller's 60 s": controller_config(
        "client-header-timeout", None
    ),
    "a slow body held for longer than compose holds it": controller_config(
        "client-body-timeout", "60"
    ),
    "idle keep-alive connections held for the controller's 75 s": controller_config(
        "keep-alive", "75"
    ),
    "a 503 to an address past its connections": controller_config("limit-conn-status-code", "503"),
    "a 503 to an address past a request rate": controller_config("limit-req-status-code", "503"),
    "idle connections to the api kept past its own keep-alive": controller_config(
        "upstream-keepalive-timeout", "60"
    ),
    "writes retried by the whole controller": controller_config("retry-non-idempotent", "true"),
    "TLS 1.0 and 1.1 accepted": controller_config("ssl-protocols", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"),
    "plain HTTP served": controller_config("ssl-redirect", "false"),
    "plain HTTP redirected with a 301, which turns a POST into a GET": controller_config(
        "http-redirect-code", "301"
    ),
    "HSTS for a day": controller_config("hsts-max-age", "86400"),
    "HSTS binding every subdomain (nginx's default)": controller_config(
        "hsts-include-subdomains", None
    ),
    "no HTTP/2": controller_config("use-http2", "false"),
    "every client's X-Forwarded-For believed": controller_config("use-forwarded-headers", "true"),
    "the controller's ConfigMap in the prod overlay, in the app's namespace": (
        controller_in_the_overlay
    ),
    "the controller's ConfigMap in another namespace": (
        lambda renders, c: c.objects[0]["metadata"].update(namespace="fastapi-stack")
    ),
}


@pytest.mark.parametrize("mutation", list(CONTROLLER_MUTATIONS))
def test_the_controller_policy_fails_on(
    renders: dict[str, Rendered], controller: Rendered, mutation: str
) -> None:
    guard = test_policy.test_the_ingress_controller_carries_the_server_wide_limits
    guard(controller, renders)  # passes on the real thing
    broken_renders = {v: Rendered(v, copy.deepcopy(r.objects)) for v, r in renders.items()}
    broken = Rendered(controller.variant, copy.deepcopy(controller.objects))
    CONTROLLER_MUTATIONS[mutation](broken_renders, broken)
    with pytest.raises(AssertionError):
        guard(broken, broken_renders)
