"""The door benchmark's arithmetic and set-up (bench.door, bench.door_report): what the
smoke run cannot show, a wrong ratio or a lever that silently changes nothing."""

from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

import pytest

from bench.apps import LOOPBACK, served_at, settings_given
from bench.door import PUBLISHED, Stacks, free_subnet, runs, variants
from bench.door_report import (
    APP,
    PROXY,
    RUNTIME,
    Run,
    Summary,
    Variant,
    edited_config,
    extra,
    hop_line,
    table_row,
    tls_parameters,
)
from bench.load import Result
from harness.compose import ComposeProject
from harness.paths import ROOT
from tests.support.docker import with_compose_or_skip

CONFIG = """global
    maxconn 100

defaults
    mode http
    option http-buffer-request
"""


def rendered(*files: str, **variables: str) -> dict[str, Any]:
    """compose's services, rendered with these variables only (none of the shell's)."""
    with_compose_or_skip()
    result = subprocess.run(
        ["docker", "compose", *(arg for file in files for arg in ("-f", file)),
         "config", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **variables},
    )  # fmt: skip
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    return services


def summary(name: str, rates: list[float], cpu: dict[str, float], requests: int) -> Summary:
    roles: dict[str, tuple[str, ...]] = {PROXY: ("proxy",), APP: ("api",), RUNTIME: ("dockerd",)}
    roles = {role: parts for role, parts in roles.items() if set(parts) & cpu.keys()}
    found = Summary(Run(Variant(name, "https://127.0.0.1:1", roles), "GET /users/{id}", "/", 12))
    found.rounds = [
        Result(rate, 2.0, 9.0, 0, requests, cpu_s=dict(cpu), wall_s=10.0) for rate in rates
    ]
    return found


def test_the_hop_is_the_doors_extra_time_and_cpu_per_request() -> None:
    door = summary("door", [800.0, 900.0, 1_000.0], {"proxy": 1.0, "api": 4.0}, 10_000)
    direct = summary("direct", [1_000.0, 1_200.0], {"api": 4.0}, 10_000)
    assert door.per_s == 900.0
    assert door.role_us(PROXY) == pytest.approx(100.0)
    assert door.all_us == pytest.approx(500.0)
    # 1/900 s against 1/1,100 s per read: 22% more time; 500 against 400 us of CPU: 25%.
    assert extra(direct.per_s, door.per_s) == pytest.approx(1_100 / 900 - 1)
    line = hop_line("the hop", door, direct)
    assert "time per request +22% (900 against 1,100 req/s; round by round +25% to +33%)" in line
    assert "CPU per request +25% (500 against 400 us; the proxy 100 us)" in line


def test_the_table_shows_the_range_and_socket_errors() -> None:
    door = summary("door", [800.0, 1_000.0], {"proxy": 1.0}, 10_000)
    door.rounds[1].errors, door.rounds[1].socket_errors = 5, 3
    row = table_row(door)
    assert "| 900 | 800-1,000 (22%) |" in row
    assert "| 5 (3 socket) |" in row
    assert row.endswith("| 100 | - | - | - | 100 |")


def test_a_lever_edits_the_named_section_and_comments_lines_out() -> None:
    edited = edited_config(CONFIG, ["global:nbthread 1"], ["option http-buffer-request"])
    assert edited.splitlines()[:2] == ["global", "    nbthread 1"]
    assert "    # bench lever: option http-buffer-request" in edited.splitlines()


@pytest.mark.parametrize(
    ("adds", "drops", "message"),
    [
        (["frontend nowhere:nbthread 1"], [], "no section"),
        (["global nbthread 1"], [], "SECTION:LINE"),
        ([], ["option http-server-close"], "no line"),
    ],
)
def test_a_lever_that_changes_nothing_is_refused(
    adds: list[str], drops: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        edited_config(CONFIG, adds, drops)


def test_tls_parameters_from_openssl_brief() -> None:
    brief = (
        "CONNECTION ESTABLISHED\nProtocol version: TLSv1.3\n"
        "Ciphersuite: TLS_AES_256_GCM_SHA384\nPeer certificate: CN = localhost\n"
        "Negotiated TLS1.3 group: X25519\nVerification: OK\n"
    )
    assert tls_parameters(brief) == "TLSv1.3, TLS_AES_256_GCM_SHA384, X25519"
    tls12 = "Protocol version: TLSv1.2\nCiphersuite: ECDHE-RSA-AES128-GCM-SHA256\n"
    assert tls_parameters(tls12 + "Server Temp Key: X25519, 253 bits\n").endswith(
        "X25519, 253 bits"
    )


def test_the_previous_edge_network_gets_a_free_subnet() -> None:
    taken = ["10.213.99.0/24", "10.213.100.0/23", "172.17.0.0/16"]
    assert free_subnet(taken) == "10.213.102.0/24"
    assert free_subnet(["10.213.0.0/17"], start=99) == "10.213.128.0/24"
    with pytest.raises(RuntimeError):
        free_subnet(["10.213.0.0/16"])


def test_settings_are_name_value_pairs() -> None:
    assert settings_given(["PROXY_API_SLOTS=50", "A=b=c"]) == {
        "PROXY_API_SLOTS": "50",
        "A": "b=c",
    }
    with pytest.raises(SystemExit):
        settings_given(["PROXY_API_SLOTS"])


def test_an_api_reached_at_another_address_serves_it_as_a_host() -> None:
    assert served_at(LOOPBACK) == {}
    assert served_at("192.0.2.2") == {"PUBLIC_HOSTS": "localhost,127.0.0.1,::1,192.0.2.2"}


def test_old_and_new_doors_are_compared_at_the_old_doors_cap() -> None:
    names = ["door", "door-http", "door-quiet", "previous", "direct", "direct-quiet", "bare"]
    found = {name: Variant(name, "http://x", {}) for name in names}
    every = runs(found)
    previous = {(run.request, run.connections) for run in every if run.variant.name == "previous"}
    assert all(connections == 12 for _, connections in previous)
    wide = [run.variant.name for run in every if run.connections == 64]
    assert wide == ["door", "direct"]
    assert len({run.key for run in every}) == len(every)


def test_every_variant_is_reached_at_the_address_given() -> None:
    """--address: the host's own address (the kernel's NAT) for every door and api alike,
    the previous release's included, so none keeps docker-proxy's extra hop."""
    ours = cast(ComposeProject, SimpleNamespace(port=1, tls_port=2))
    previous = cast(ComposeProject, SimpleNamespace(port=3))
    variables = [*PUBLISHED.values(), "BENCH_PROXY_LEVER_PORT"]
    ports = {variable: port for port, variable in enumerate(variables, 4)}
    found = variants(Stacks(ours, previous, {}, ports, "global:nbthread 2", "192.0.2.2"))
    assert len(found) == 10
    assert {urlsplit(variant.url).hostname for variant in found.values()} == {"192.0.2.2"}
    assert len({urlsplit(variant.url).port for variant in found.values()}) == 10


def test_bench_variants_change_only_what_they_say() -> None:
    """The door measured as shipped is compose.yaml's proxy and api (the api's port aside);
    the quiet pair has its own network, where `api` and `proxy` are each other."""
    names = ("API", "API_QUIET", "PROXY_QUIET", "API_LOCAL", "API_NONBLOCKING", "BARE")
    variables = {f"BENCH_{name}_PORT": str(port) for port, name in enumerate(names, 20001)}
    shipped = rendered("compose.yaml")
    bench = rendered("compose.yaml", "bench/compose.door.yaml", **variables)
    assert bench["proxy"] == shipped["proxy"]
    assert {**bench["api"], "ports": None} == {**shipped["api"], "ports": None}
    assert bench["api-quiet"]["environment"]["ACCESS_LOG"] == "false"
    assert bench["api-quiet"]["networks"]["door-quiet"]["aliases"] == ["api"]
    assert bench["proxy-quiet"]["networks"]["door-quiet"]["aliases"] == ["proxy"]
    assert set(bench["proxy-quiet"]["networks"]) == {"door-quiet"}
    assert bench["api-local"]["logging"]["driver"] == "local"
    assert bench["api-nonblocking"]["logging"]["options"]["mode"] == "non-blocking"
    changed = {"api-quiet": {"environment", "networks"}, "api-local": {"logging"}}
    for name in ("api-quiet", "api-local", "api-nonblocking"):
        different = {key for key in bench["api"].keys() | bench[name].keys()
                     if bench["api"].get(key) != bench[name].get(key)}  # fmt: skip
        assert different == {"ports", *changed.get(name, {"logging"})}, name
    assert bench["api-quiet"]["environment"] == {
        **shipped["api"]["environment"],
        "ACCESS_LOG": "false",
    }


def test_the_clients_cpu_is_wrks_per_request() -> None:
    door = summary("door", [900.0, 1_000.0, 1_100.0], {"api": 4.0}, 10_000)
    for seconds, result in zip((2.0, 1.5, 3.0), door.rounds, strict=True):
        result.client_cpu_s = seconds
    assert door.client_us == pytest.approx(200.0)  # the median round: 2 s / 10,000
