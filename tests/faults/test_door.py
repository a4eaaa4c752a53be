"""The door for the real world, through compose.yaml's published ports: HTTPS (HTTP/2,
TLS 1.2 and 1.3 only, HSTS) with the certificate the secrets step makes, plain HTTP
redirected; limits set in .env taking effect, a bad one stopping the proxy by name; an
office behind one address served in full (past the limit: tests.faults.test_front_door);
the client's own address, never its
claim, unless a trusted balancer names it; and two stacks side by side on one host."""

from __future__ import annotations

import json
import re
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.compose import ComposeProject
from harness.load import Load, percentile
from harness.paths import ROOT
from tests.faults.checks import record
from tests.support.docker import with_docker_or_skip
from tests.support.logs import log_lines
from tests.support.netns import ClientHost, client_hosts

pytestmark = pytest.mark.faults

REQUESTING_PER_ADDRESS = 64  # PROXY_REQUESTING_PER_ADDRESS's default
LOGINS_PER_ADDRESS = 30  # PROXY_LOGINS_PER_ADDRESS's default, a minute
SIGNUPS_PER_ADDRESS = 20  # PROXY_SIGNUPS_PER_ADDRESS's default, an hour
WRITES_PER_ACCOUNT = 120  # WRITES_PER_ACCOUNT's default, a minute (WRITE_WINDOW_SECONDS)
# These two of the hosts are the trusted balancers.
PROXY_PROTOCOL_HOST, FORWARDING_HOST = 4, 5


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[ClientHost]]:
    with client_hosts(6) as made:
        yield made


@pytest.fixture(scope="module")
def generated(hosts: list[ClientHost]) -> Iterator[ComposeProject]:
    """A stack whose certificate the secrets step makes (no TLS_DIR), which trusts two of
    the hosts as balancers: one speaking the PROXY protocol, one X-Forwarded-For."""
    with_docker_or_skip()
    stack = ComposeProject(
        prefix="door",
        env_file_text=f"PROXY_PROTOCOL_UPSTREAMS={hosts[PROXY_PROTOCOL_HOST].address}\n"
        f"PROXY_FORWARDED_UPSTREAMS={hosts[FORWARDING_HOST].address}\n"
        # As shipped, not raised for a test's load (harness.processes.LOAD_LIMITS).
        f"PROXY_SIGNUPS_PER_ADDRESS={SIGNUPS_PER_ADDRESS}\n"
        f"PROXY_LOGINS_PER_ADDRESS={LOGINS_PER_ADDRESS}\n",
    )
    stack.env["TLS_DIR"] = ""  # the secrets step's certificate, in the tls volume
    try:
        stack("up", "--build", "--wait")
        yield stack
    finally:
        stack.remove()


def authority(stack: ComposeProject, folder: Path) -> Path:
    """The generated authority's certificate, out of the tls volume."""
    pem = stack(
        "run", "--rm", "--no-deps", "-T", "--entrypoint", "cat", "secrets", "/run/tls/ca.pem"
    )  # fmt: skip
    path = folder / "ca.pem"
    path.write_text(pem.stdout)
    return path


def trusting(authority: Path) -> ssl.SSLContext:
    """A client context that trusts the stack's own authority (and no other)."""
    return ssl.create_default_context(cafile=authority)


def test_https_with_the_generated_certificate_speaks_http2(
    generated: ComposeProject, tmp_path: Path
) -> None:
    ca = authority(generated, tmp_path)
    url = f"https://localhost:{generated.tls_port}/users"
    curl = subprocess.run(
        ["curl", "-s", "--http2", "--cacert", str(ca), "-o", "/dev/null",
         "-w", "%{http_version} %{http_code}", url],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert curl.stdout == "2 200", curl.stderr
    with httpx.Client(verify=trusting(ca), timeout=10) as client:
        answer = client.get(url, params={"limit": 1})
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_plain_http_redirects_to_https_the_probes_aside(generated: ComposeProject) -> None:
    plain = f"http://localhost:{generated.port}"
    moved = httpx.get(f"{plain}/users?limit=1", timeout=10)
    assert moved.status_code == 308
    assert moved.headers["location"] == f"https://localhost:{generated.tls_port}/users?limit=1"
    assert "strict-transport-security" not in moved.headers
    assert httpx.get(f"{plain}/readyz", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("version", "ciphers"),
    [
        (ssl.TLSVersion.TLSv1, "ALL:@SECLEVEL=0"),
        (ssl.TLSVersion.TLSv1_1, "ALL:@SECLEVEL=0"),
        (ssl.TLSVersion.TLSv1_2, "AES128-SHA:@SECLEVEL=0"),  # RSA key exchange, CBC
        (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"),
    ],
    ids=["TLS 1.0", "TLS 1.1", "TLS 1.2, no forward secrecy", "TLS 1.2, CBC"],
)
# Python deprecates asking for the old protocols; asking for them is the attack.
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_old_protocols_and_weak_ciphers_are_refused(
    generated: ComposeProject, version: ssl.TLSVersion, ciphers: str
) -> None:
    """What a client meets. (The sandbox's OpenSSL refuses TLS 1.0 and 1.1 by itself, and an
    ECDSA key no RSA key exchange: tests/proxy checks haproxy.cfg's own profile.)"""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    context.set_ciphers(ciphers)
    with (
        socket.create_connection(("127.0.0.1", generated.tls_port), timeout=10) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="localhost")


def test_the_certificate_is_renewed_without_dropping_a_request(
    generated: ComposeProject, tmp_path: Path
) -> None:
    ca = authority(generated, tmp_path)

    def serial() -> int:
        pem = ssl.get_server_certificate(("127.0.0.1", generated.tls_port))
        return int(
            subprocess.run(
                ["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True,
                text=True, check=True,
            ).stdout.strip().split("=")[1], 16
        )  # fmt: skip

    before = serial()
    with Load(f"https://localhost:{generated.tls_port}", seconds=12, verify=trusting(ca)) as load:
        load.sleep_until(3)
        generated("run", "--rm", "--no-deps", "secrets", "renew-certificate")
        generated("kill", "-s", "USR2", "proxy")  # the master reloads, the old workers finish
    assert serial() != before
    assert load.report().errors_by_kind() == {}


def wrk(host: ClientHost, stack: ComposeProject, connections: int) -> dict[str, int]:
    """wrk from ``host`` through the HTTPS port for 5 s: its requests, non-2xx answers and
    socket errors (connect, read, write and timeout added up)."""
    run = subprocess.run(
        ["ip", "netns", "exec", host.namespace, "wrk", "-t2", f"-c{connections}", "-d5s",
         "-H", "Host: localhost", f"https://{host.gateway}:{stack.tls_port}/users?limit=1"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    requests = re.search(r"(\d+) requests in", run.stdout)
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
    errors = re.search(r"Socket errors: (.+)", run.stdout)  # absent when there were none
    assert requests, run.stdout
    return {
        "requests": int(requests[1]),
        "requests_per_s": round(int(requests[1]) / 5),
        "non_2xx": int(refused[1]) if refused else 0,
        "socket_errors": sum(map(int, re.findall(r"\d+", errors[1]))) if errors else 0,
    }


def test_an_office_of_64_behind_one_address_is_served_in_full(
    generated: ComposeProject, hosts: list[ClientHost]
) -> None:
    result = wrk(hosts[0], generated, REQUESTING_PER_ADDRESS)
    record("door-64-connections-one-address", result)
    assert result["requests"] > 100, result
    assert result["non_2xx"] == 0, result
    assert result["socket_errors"] == 0, result


def last_access_line(stack: ComposeProject, request_id: str) -> dict[str, object]:
    time.sleep(0.3)
    lines = [line for line in log_lines(stack.service_log("api")) if line.get("request_id")]
    (line,) = [line for line in lines if line["request_id"] == request_id]
    return line


def ask_as(
    host: ClientHost, stack: ComposeProject, request_id: str, *args: str, ipv6: bool = False
) -> None:
    """GET / over HTTPS from ``host`` (over IPv6 if ``ipv6``), tagged ``request_id`` (the
    api's access line names the client it took the request to come from)."""
    gateway = host.gateway6 if ipv6 else host.gateway
    process = host.popen(
        "tests.support.attackers", "claim", gateway, str(stack.tls_port), request_id, *args
    )
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors[-2000:]


def test_a_clients_claim_is_dropped_and_its_address_kept(
    generated: ComposeProject, hosts: list[ClientHost]
) -> None:
    ask_as(hosts[3], generated, "claim-v4", "--forwarded-for", "203.0.113.66")
    line = last_access_line(generated, "claim-v4")
    assert line["client"] == hosts[3].address


def test_a_claim_from_another_host_over_ipv6_is_dropped(
    generated: ComposeProject, hosts: list[ClientHost], tmp_path: Path
) -> None:
    """Docker forwards IPv6 to a published port through docker-proxy (it NATs IPv4 only),
    so a host of its own arrives as docker-proxy's address, as loopback does; its claim
    does not arrive at all."""
    ask_as(hosts[2], generated, "claim-v6", "--forwarded-for", "203.0.113.66", ipv6=True)
    with httpx.Client(verify=trusting(authority(generated, tmp_path)), timeout=10) as client:
        answer = client.get(
            f"https://127.0.0.1:{generated.tls_port}/users?limit=1",
            headers={"X-Request-ID": "from-loopback"},
        )
    assert answer.status_code == 200
    from_loopback = last_access_line(generated, "from-loopback")["client"]
    assert last_access_line(generated, "claim-v6")["client"] == from_loopback


@pytest.mark.parametrize("address", ["127.0.0.1", "[::1]"], ids=["IPv4", "IPv6"])
def test_a_claim_through_dockers_userland_proxy_is_dropped_too(
    generated: ComposeProject, tmp_path: Path, address: str
) -> None:
    """From the machine itself, over IPv4 or IPv6 loopback, docker-proxy's address
    arrives (the edge network's gateway, which no setting trusts); the claim never does."""
    request_id = f"claim-lo-{address.strip('[]').replace(':', '')}"
    with httpx.Client(verify=trusting(authority(generated, tmp_path)), timeout=10) as client:
        answer = client.get(
            f"https://{address}:{generated.tls_port}/users?limit=1",
            headers={"X-Forwarded-For": "203.0.113.66", "X-Request-ID": request_id},
        )
    assert answer.status_code == 200
    assert last_access_line(generated, request_id)["client"] != "203.0.113.66"


@pytest.mark.parametrize("version", ["", "-v2"], ids=["v1", "v2"])
def test_a_proxy_protocol_balancer_names_the_client(
    generated: ComposeProject, hosts: list[ClientHost], version: str
) -> None:
    """PROXY_PROTOCOL_UPSTREAMS' balancer may speak either version (HAProxy's expect-proxy
    reads both); the address it names is the client's in the api's line."""
    request_id, client = f"pp{version or '-v1'}", f"203.0.113.{7 if version else 9}"
    ask_as(hosts[PROXY_PROTOCOL_HOST], generated, request_id, f"--proxy-protocol{version}", client)
    assert last_access_line(generated, request_id)["client"] == client


def test_a_trusted_balancers_forwarded_for_names_the_client(
    generated: ComposeProject, hosts: list[ClientHost]
) -> None:
    ask_as(hosts[FORWARDING_HOST], generated, "xff-1", "--forwarded-for", "203.0.113.8")
    assert last_access_line(generated, "xff-1")["client"] == "203.0.113.8"


def test_two_clones_side_by_side_on_one_host(generated: ComposeProject, tmp_path: Path) -> None:
    """The generated stack is up; a second clone of the repository (its HEAD) comes up
    beside it, its own project and ports, no subnet fixed, and both serve."""
    clone = tmp_path / "second-clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    second = ComposeProject(prefix="door2", root=clone)
    try:
        second("up", "--build", "--wait")
        for stack in (generated, second):
            answer = httpx.get(f"http://127.0.0.1:{stack.port}/readyz", timeout=10)
            assert answer.status_code == 200
    finally:
        second.remove()


def test_a_guesser_is_stopped_at_the_door_while_another_address_logs_in(
    generated: ComposeProject, hosts: list[ClientHost], tmp_path: Path
) -> None:
    """POST /token: PROXY_LOGINS_PER_ADDRESS logins a minute from one address, then the
    proxy's own 429, before the api checks a password; another address logs in. Each
    guess is at a name of its own, so the api's count per name (10) never answers first."""
    guesses, name, password = 45, "door-guessed", "a door-guessed passphrase"
    url = f"https://localhost:{generated.tls_port}"
    with httpx.Client(
        base_url=url, verify=trusting(authority(generated, tmp_path)), timeout=30
    ) as client:
        body = {"username": name, "email": f"{name}@example.com", "password": password}
        assert client.post("/users", json=body).status_code == 201
        guesser = hosts[1].popen(
            "tests.support.attackers", "--tls", "spray", hosts[1].gateway,
            str(generated.tls_port), str(guesses), "1",
        )  # fmt: skip
        result = json.loads(guesser.communicate(timeout=180)[0])
        login = client.post("/token", data={"username": name, "password": password})
    time.sleep(0.3)
    checked = [
        line for line in log_lines(generated.service_log("api"))
        if line.get("route") == "/token" and line.get("client") == hosts[1].address
    ]  # fmt: skip
    record("door-login-guesses-one-address", {**result, "checked_by_the_api": len(checked)})
    # Counted over a sliding minute: exactly the limit, give or take a period's edge.
    assert LOGINS_PER_ADDRESS <= result["statuses"]["401"] <= LOGINS_PER_ADDRESS + 2, result
    assert result["statuses"]["429"] == guesses - result["statuses"]["401"], result
    assert result["retry_after"] == "60", result
    assert len(checked) == result["statuses"]["401"]  # the refused never reached the api
    assert login.status_code == 200, login.text


def test_an_address_making_accounts_is_stopped_while_another_signs_up(
    generated: ComposeProject, hosts: list[ClientHost], tmp_path: Path
) -> None:
    """POST /users: PROXY_SIGNUPS_PER_ADDRESS accounts an hour from one address, then the
    proxy's own 429, before a password is hashed; another address still signs up."""
    attempts = SIGNUPS_PER_ADDRESS + 15
    maker = hosts[3].popen(
        "tests.support.attackers", "--tls", "signups", hosts[3].gateway,
        str(generated.tls_port), str(attempts), "2",
    )  # fmt: skip
    result = json.loads(maker.communicate(timeout=180)[0])
    url = f"https://localhost:{generated.tls_port}"
    with httpx.Client(
        base_url=url, verify=trusting(authority(generated, tmp_path)), timeout=30
    ) as client:
        body = {"username": "another-address", "email": "another@example.com",
                "password": "another address's passphrase"}  # fmt: skip
        other = client.post("/users", json=body)
    record("door-signups-one-address", result)
    assert result["statuses"]["201"] == SIGNUPS_PER_ADDRESS, result
    assert result["statuses"]["429"] == attempts - SIGNUPS_PER_ADDRESS, result
    assert result["retry_after"] == "3600", result
    assert other.status_code == 201, other.text


def test_an_accounts_writes_past_its_rate_get_429_while_another_address_writes(
    generated: ComposeProject, hosts: list[ClientHost], tmp_path: Path
) -> None:
    """WRITES_PER_ACCOUNT as shipped (this stack raises it for its loads: the test puts
    the default back, then the raise): one account from one address posts 10 past it,
    one at a time, through the published HTTPS port; another account, from another
    address, writes meanwhile. Next to last: it recreates the api."""
    raised = generated.env.pop("WRITES_PER_ACCOUNT")
    generated("up", "-d", "--wait", "api")
    try:
        writer = hosts[0].popen(
            "tests.support.attackers", "--tls", "writes", hosts[0].gateway,
            str(generated.tls_port), str(WRITES_PER_ACCOUNT + 10),
        )  # fmt: skip
        url = f"https://localhost:{generated.tls_port}"
        with httpx.Client(
            base_url=url, verify=trusting(authority(generated, tmp_path)), timeout=30
        ) as client:
            name = f"ordinary-{secrets.token_hex(3)}"
            body = {"username": name, "email": f"{name}@example.com",
                    "password": f"{name} passphrase"}  # fmt: skip
            user = client.post("/users", json=body).json()
            token = client.post("/token", data={"username": name, "password": body["password"]})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            ordinary: list[int] = []
            took_ms: list[float] = []
            while writer.poll() is None and len(ordinary) < 60:
                post = {"title": "t", "content": "ordinary"}
                started = time.perf_counter()
                answer = client.post(f"/users/{user['id']}/posts", json=post, headers=headers)
                took_ms.append((time.perf_counter() - started) * 1000)
                ordinary.append(answer.status_code)
                time.sleep(0.1)
        result = json.loads(writer.communicate(timeout=180)[0])
    finally:
        generated.env["WRITES_PER_ACCOUNT"] = raised
        generated("up", "-d", "--wait", "api")
    record("door-writes-one-account", {
        **result, "ordinary_writes": len(ordinary),
        "ordinary_p50_ms": round(percentile(took_ms, 0.5), 1),
        "ordinary_p99_ms": round(percentile(took_ms, 0.99), 1),
    })  # fmt: skip
    assert result["statuses"] == {"201": WRITES_PER_ACCOUNT, "429": 10}, result
    assert 1 <= int(result["retry_after"]) <= 60, result
    assert ordinary, "the ordinary client wrote nothing while the account was refused"
    assert set(ordinary) == {201}, ordinary


def test_a_limit_set_in_env_takes_effect_and_a_bad_one_stops_the_proxy(
    generated: ComposeProject, hosts: list[ClientHost]
) -> None:
    """Last: it changes the stack's settings."""
    env = generated.env_file.read_text()
    generated.env_file.write_text(env + "PROXY_REQUESTING_PER_ADDRESS=3\n")
    generated("up", "-d", "--wait", "proxy")
    crowd = hosts[2].popen(
        "tests.support.attackers", "crowd", hosts[2].gateway, str(generated.port), "3", "1"
    )  # fmt: skip
    answers = json.loads(crowd.communicate(timeout=30)[0].splitlines()[0])
    assert (answers["at_limit"]["status"], answers["past_limit"]["status"]) == ("200", "429")

    generated.env_file.write_text(env + "PROXY_HEAD_SECONDS=soon\n")
    failed = generated("up", "-d", "--wait", "proxy", check=False)
    assert failed.returncode != 0
    log = generated.service_log("proxy")
    assert "proxy: invalid configuration: PROXY_HEAD_SECONDS: must be a whole number" in log
    generated.env_file.write_text(env)
    generated("up", "-d", "--wait", "proxy")
