"""The front door (services/proxy/haproxy.cfg) through the published port: each limit
attacked from client hosts of the test's own (tests.support.netns) while an ordinary
client (harness.load, from this machine) keeps being served: its requests succeed, its
p99 stays near its usual, no gunicorn worker dies, nothing is lost (tests.faults.checks).
The head timeout's 408 and the per-address 429 are also checked alone, to the second and
to the connection. Attacks on the head go to the plain port (its limits are the HTTPS
port's: the head is read before the redirect); those that must reach the api, over HTTPS."""

from __future__ import annotations

import json
import math
import re
import select
import socket
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from harness.compose import ComposeProject
from harness.load import Load, LoadReport
from tests.faults.checks import (
    check_invariants,
    proxy_dropped_lines,
    proxy_lines,
    proxy_metric,
    proxy_notices,
)
from tests.support.attackers import SLOW_HEADERS
from tests.support.netns import ClientHost, client_hosts

pytestmark = pytest.mark.faults

PER_CLIENT = 64  # PROXY_REQUESTING_PER_ADDRESS: past it, a client's requests get 429
EACH = 12  # slow requests each attacking address holds, where ten of them fill the api
HEAD_TIMEOUT = 5.0  # `timeout http-request`: the longest a request head may take to arrive
LOCKED_READ = "/posts/1"
# The longest a request may wait before its answer: the api's DB_POOL_TIMEOUT, and a second.
NO_LONGER = 6.5


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[ClientHost]]:
    with client_hosts(10) as made:
        yield made


def workers(stack: ComposeProject) -> set[str]:
    """The pids of the api containers' gunicorn processes (its master and its workers):
    the same set after an attack means no worker died."""
    top = stack("top", "api").stdout
    return {line.split()[1] for line in top.splitlines() if "gunicorn" in line}


def attack(
    host: ClientHost, stack: ComposeProject, *args: str, timeout: float = 120, tls: bool = True
) -> Any:
    """The attackers' mode ``args[0]`` from ``host``, over HTTPS unless ``tls`` is off."""
    door = ["--tls", args[0], host.gateway, str(stack.tls_port)]
    if not tls:
        door = [args[0], host.gateway, str(stack.port)]
    process = host.popen("tests.support.attackers", *door, *args[1:])
    output, errors = process.communicate(timeout=timeout)
    assert process.returncode == 0, errors[-2000:]
    return json.loads(output)


def served_through(report: LoadReport, start: float, end: float) -> dict[str, Any]:
    during = report.started_between(start, end)
    return {
        "ordinary_requests_during": len(during),
        "ordinary_failed_during": sum(not s.ok for s in during),
        "p50_before_ms": report.latency_ms(1, start, 0.5),
        "p99_before_ms": report.latency_ms(1, start, 0.99),
        "p50_during_ms": report.latency_ms(start, end, 0.5),
        "p99_during_ms": report.latency_ms(start, end, 0.99),
    }


DB_POOL_TIMEOUT_MS = 5000  # the api's default


def assert_served(figures: dict[str, Any], *, may_wait_for_the_pool: bool = False) -> None:
    assert figures["ordinary_requests_during"] > 50, figures
    assert figures["ordinary_failed_during"] == 0, figures
    # Served, not merely answered: a starved api makes its clients wait many seconds (the
    # issue's body-of-keys attack: 2.2 s, then failures); unless the attack holds every
    # database connection, then within the pool's timeout. Loose on purpose: on a busy
    # 2-core machine the ordinary p99 under the keys attack reached 1,023 ms with 0 failed.
    # The figures themselves go into the fault's record (tests/faults/README.md).
    ceiling = DB_POOL_TIMEOUT_MS if may_wait_for_the_pool else 2000
    assert figures["p99_during_ms"] < max(ceiling, 5 * figures["p99_before_ms"]), figures


def test_the_proxy_runs_one_thread_for_every_four_cpus(stack: ComposeProject) -> None:
    """PROXY_THREADS' default (start.sh), as the running proxy counts its threads."""
    cpus = int(stack("exec", "-T", "proxy", "nproc").stdout)
    assert proxy_metric(stack, "haproxy_process_nbthread") == max(1, math.ceil(cpus / 4))


def test_three_clients_sending_256_mib_headers(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    before, dropped_before = workers(stack), proxy_dropped_lines(stack)
    with Load(stack.base_url, seconds=14) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        # The plain port: the same frontend and limits, and a sender that sees when the
        # proxy stops reading (over TLS, asyncio buffers what the peer never reads).
        result = attack(hosts[0], stack, "headers", "3", "256", tls=False)
        end = load.mark("done")
        load.sleep_until(end + 2)
    report = load.report()
    figures = served_through(report, start, end + 2)
    refused = [line for line in proxy_lines(stack) if line["client"] == hosts[0].address]
    dropped = proxy_dropped_lines(stack) - dropped_before
    check_invariants(
        stack, "8-huge-headers", report, promise="each refused with a 400 at 16 KiB, at once",
        attackers=result["clients"], proxy_answers=Counter(line["status"] for line in refused),
        proxy_dropped_lines=dropped, **figures,
    )  # fmt: skip
    for client in result["clients"]:
        assert client["sent"] < 1024 * 1024, client  # cut off, not read: 256 MiB offered
        assert client["seconds"] < 2, client
    # Three 400s at the same instant: two proxy threads (PROXY_THREADS, a host of over
    # four CPUs) may write their lines at once, and HAProxy drops the line that would
    # wait (6 of 1,350 with two threads here; 1 of 3 in one CI run). It counts each:
    # every refusal is a line or a counted drop, and the line being written lands.
    assert 0 <= dropped < 3
    assert [line["status"] for line in refused] == [400] * (3 - dropped)
    assert_served(figures)
    assert workers(stack) == before


def test_five_thousand_slow_header_connections(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    before = workers(stack)
    per_host, held = 500, 10  # 500 from each of 10 addresses: each under the per-client cap
    with Load(stack.base_url, seconds=20) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        processes = [
            host.popen("tests.support.attackers", "slow", host.gateway, str(stack.port),
                       str(per_host), str(held))
            for host in hosts
        ]  # fmt: skip
        results = [json.loads(process.communicate(timeout=60)[0]) for process in processes]
        end = load.mark("done")
    report = load.report()
    figures = served_through(report, start, end)
    connected = sum(result["connected"] for result in results)
    closed_after = [seconds for result in results for seconds in result["closed_after_s"]]
    answers = sum(
        (Counter({k: v for k, v in r.items() if k.startswith("answered")}) for r in results),
        Counter(),
    )
    check_invariants(
        stack, "9-slow-headers", report,
        promise="every slow-header connection cut at `timeout http-request` (5 s) with a 408",
        slow_connections=connected, closed_after_s=[min(closed_after), max(closed_after)],
        answers=answers, resets=sum(r.get("reset", 0) for r in results), **figures,
    )  # fmt: skip
    assert connected == per_host * len(hosts)
    assert sum(result["closed_by_server"] for result in results) == connected
    # The client sends nothing once an answer waits for it; a 408 that lands between that
    # check and the byte after it draws a reset (without the check, one CI run saw 122 of 5,000).
    assert answers["answered 408"] + sum(r.get("reset", 0) for r in results) == connected
    assert answers["answered 408"] >= 0.99 * connected, answers
    assert min(closed_after) > 4.5, closed_after
    assert max(closed_after) < 8, closed_after
    assert_served(figures)
    assert workers(stack) == before


def slow_head(port: int, within: float, interval: float = 0.1) -> tuple[float, str]:
    """A request head sent through the published port a byte every ``interval`` s, never
    finished: when the answer came (seconds since connecting) and its status line. Fails
    if none came ``within`` s."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        opened = time.monotonic()
        for byte in SLOW_HEADERS:
            readable, _, _ = select.select([client], [], [], interval)
            answered_after = time.monotonic() - opened
            if readable:
                return answered_after, client.makefile("rb").readline().decode(errors="replace")
            if answered_after > within:
                break
            client.sendall(bytes([byte]))
    raise AssertionError(f"a head still arriving after {within} s was not answered")


def test_a_head_sent_slower_than_the_limit_gets_a_408_when_the_limit_is_up(
    stack: ComposeProject,
) -> None:
    answered_after, status_line = slow_head(stack.port, within=HEAD_TIMEOUT * 2)
    assert status_line.startswith("HTTP/1.1 408"), status_line
    assert HEAD_TIMEOUT - 0.1 < answered_after < HEAD_TIMEOUT + 0.6, answered_after


def test_past_64_connections_a_client_gets_429_while_another_address_is_served(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    crowded, other = hosts[3], hosts[4]
    crowd = crowded.popen(
        "tests.support.attackers", "crowd", crowded.gateway, str(stack.port),
        str(PER_CLIENT), "3",
    )  # fmt: skip
    assert crowd.stdout is not None
    answers = json.loads(crowd.stdout.readline() or "{}")
    # While the crowded address still holds its connections:
    (elsewhere,) = attack(other, stack, "hold", "1", "/users")["requests"]
    _, errors = crowd.communicate(timeout=30)
    assert crowd.returncode == 0, errors[-2000:]
    assert answers["at_limit"]["status"] == "200", answers
    assert answers["past_limit"]["status"] == "429", answers
    assert answers["past_limit"]["retry_after"], answers
    assert answers["past_limit"]["seconds"] < 1, answers
    assert elsewhere["status"] == "200", elsewhere


def test_one_client_opening_connections_as_fast_as_it_can(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    before = workers(stack)
    with Load(stack.base_url, seconds=18) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        # The plain port: the cap is on the address's connections, whichever port, and
        # one process opens more of them a second without a handshake each.
        result = attack(hosts[1], stack, "flood", "10", tls=False)
        end = load.mark("done")
    report = load.report()
    figures = served_through(report, start, end)
    check_invariants(
        stack, "10-connection-flood", report,
        promise="past 500 new connections a second, a client's are closed before a byte is read",
        flood=result, **figures,
    )  # fmt: skip
    answered = sum(v for k, v in result.items() if k.startswith("answered"))
    assert result["attempts"] > 5000, result  # it did flood
    assert answered <= 600 * 11, result  # about 500 a second got through, no more
    assert_served(figures)
    assert workers(stack) == before


API_DB_CONNECTIONS = 30  # the api's pool: 2 workers x DB_POOL_SIZE 15

# Takes the posts table, waits (3 s at most) until {waiting} requests wait for it, then
# keeps it {then} s more. Polled in PL/pgSQL: pg_locks is live inside a transaction.
LOCK_POSTS = """BEGIN; LOCK TABLE posts IN ACCESS EXCLUSIVE MODE;
DO $$ BEGIN FOR i IN 1..30 LOOP
  EXIT WHEN (SELECT count(*) FROM pg_locks
             WHERE relation = 'posts'::regclass AND NOT granted) >= {waiting};
  PERFORM pg_sleep(0.1);
END LOOP; END $$;
SELECT pg_sleep({then}); ROLLBACK;"""


def held_requests(
    stack: ComposeProject,
    attackers: list[ClientHost],
    each: int,
    *,
    until_waiting: int = 0,
    then_s: float = 4,
) -> list[Any]:
    """``each`` requests at once from every one of ``attackers``, for a post, while the
    posts table is locked: until ``until_waiting`` of them wait for it, then ``then_s`` s
    more. They wait in the api (or in the proxy's queue). The default, 4 s, is shorter
    than DB_POOL_TIMEOUT (5 s): a request that waits for a database connection they hold
    gets one in time."""
    script = LOCK_POSTS.format(waiting=until_waiting, then=then_s)
    as_superuser = 'exec psql -U "${POSTGRES_USER:-postgres}" -d app -c "$0"'
    locker = stack.popen("exec", "-T", "db", "sh", "-c", as_superuser, script)
    time.sleep(0.5)  # the lock is taken
    try:
        processes = [
            host.popen("tests.support.attackers", "--tls", "hold", host.gateway,
                       str(stack.tls_port), str(each), LOCKED_READ)
            for host in attackers
        ]  # fmt: skip
        return [json.loads(process.communicate(timeout=60)[0])["requests"] for process in processes]
    finally:
        locker.communicate(timeout=30)


def test_one_client_cannot_take_the_apis_slots(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    """200 slow requests at once from one client: at most 64 or so reach the api, the
    rest get a 429 with Retry-After at once, and the api's other slots stay free for
    everyone else. Its 64 may hold every database connection of the api (2 workers x 15):
    the others wait for one, within DB_POOL_TIMEOUT, and are served."""
    before = workers(stack)
    with Load(stack.base_url, seconds=16) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        (requests,) = held_requests(stack, [hosts[2]], 200)
        end = load.mark("done")
    report = load.report()
    figures = served_through(report, start, end)
    by_status = Counter(request["status"] for request in requests)
    refused = [r for r in requests if r["status"] == "429"]
    check_invariants(
        stack, "11-one-client-many-requests", report,
        promise="past 64 connections, a client's requests get 429 with Retry-After at once",
        statuses=by_status, slowest_429_s=max(r["seconds"] for r in refused), **figures,
    )  # fmt: skip
    # The cap counts a connection once it is accepted, and a request is judged when it
    # arrives: connections accepted ahead of the first requests take places, so fewer
    # than 64 may be served, and one refused and closed frees one.
    served = 200 - len(refused)
    assert 1 <= served <= PER_CLIENT + 2, by_status
    assert all(r["retry_after"] and r["seconds"] < 1 for r in refused)
    assert_served(figures, may_wait_for_the_pool=True)
    assert workers(stack) == before


def test_more_requests_than_the_api_takes_wait_briefly_then_get_a_503(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    """Ten clients, 12 slow requests each, 120 at once
    against the api's 100 slots: past them, a request waits in the proxy's queue for at
    most 2 s, then gets a 503 with Retry-After; inside, one waits for a database
    connection for at most DB_POOL_TIMEOUT (5 s), then gets the api's 503 with
    Retry-After. Nobody hangs. The ordinary client shares both queues meanwhile (a 503
    with Retry-After is its answer too, never a hang), and is served again as soon as
    they drain."""
    before = workers(stack)
    with Load(stack.base_url, seconds=18, pause=0.05) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        # Held until the attack fills the api's connections (its processes may take
        # seconds to start on a busy machine), then past DB_POOL_TIMEOUT: both queues
        # overflow however staggered the arrivals.
        each_client = held_requests(
            stack, hosts, EACH, until_waiting=API_DB_CONNECTIONS, then_s=5.5
        )
        held = [r for requests in each_client for r in requests]
        end = load.mark("done")
        load.sleep_until(end + 4)
    report = load.report()
    by_status = Counter(request["status"] for request in held)
    during = report.started_between(start, end)
    after = report.started_between(end + 1, end + 4)
    check_invariants(
        stack, "12-api-slots-full", report,
        promise="a full api answers 503 with Retry-After within seconds, never hangs",
        statuses=by_status,
        slowest_503_s=max((r["seconds"] for r in held if r["status"] == "503"), default=None),
        ordinary_during=Counter(s.outcome for s in during),
        ordinary_slowest_during_s=round(max(s.seconds for s in during), 3),
        ordinary_after=Counter(s.outcome for s in after),
    )  # fmt: skip
    assert by_status["503"] > 0, by_status
    assert all(r["retry_after"] and r["seconds"] < NO_LONGER for r in held if r["status"] == "503")
    # Reads (users) wait for a slot or a connection; writes (posts) for the table too.
    assert max((s.seconds for s in during if s.kind == "read"), default=0.0) < NO_LONGER
    assert (
        max((s.seconds for s in during if s.kind == "create"), default=0.0)
        < end - start + NO_LONGER
    )
    assert {s.outcome for s in during} <= {"200", "201", "503"}
    assert after
    assert all(s.ok for s in after)
    assert workers(stack) == before


MAX_BODY_SECONDS = 10.0  # the api's default: a body arrives whole within it, or a 408


def went_down(stack: ComposeProject, already: int) -> list[str]:
    """The proxy's notices, after the first ``already``, that took an api out of rotation."""
    return [line for line in proxy_notices(stack)[already:] if re.search(r"api/\S+ is DOWN", line)]


def answered(result: dict[str, Any]) -> Counter[str]:
    return Counter(request["status"] for request in result["requests"])


def assert_unhurt(stack: ComposeProject, figures: dict[str, Any], before: set[str]) -> None:
    """The ordinary client: nothing failed, served as before (assert_served); no api taken
    out of rotation, no worker killed for silence, none died."""
    assert_served(figures)
    assert figures["api_taken_down"] == [], figures
    assert "WORKER TIMEOUT" not in stack.service_log("api")
    assert workers(stack) == before


def test_eight_connections_posting_100000_keys(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    before, notices = workers(stack), len(proxy_notices(stack))
    with Load(stack.base_url, seconds=30) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        result = attack(hosts[5], stack, "keys", "8", "20", timeout=90)
        end = load.mark("done")
    report = load.report()
    figures = {**served_through(report, start, end), "api_taken_down": went_down(stack, notices)}
    check_invariants(
        stack, "16-many-keys", report,
        promise="each body of 100,000 unknown keys a 422 at once, the api's CPU to spare",
        attack=result, **figures,
    )  # fmt: skip
    assert result["answered 422"] > 100, result
    assert_unhurt(stack, figures, before)


LOGIN_SPRAYERS, LOGINS_EACH = 6, 25  # below the door's 30 a minute per address


def test_a_login_flood_from_many_addresses_slows_logins_not_reads(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    """Each login hashes (Argon2id: about 0.15 s of CPU and 64 MiB): six addresses send
    25 each, 4 at a time, to names of their own, so neither limit on logins stops one
    before its hash. The hashes run in threads, at most ARGON2_HASHES_AT_ONCE per worker:
    the ordinary client's reads and writes go on, slower (its p99 is the figure)."""
    before, notices = workers(stack), len(proxy_notices(stack))
    with Load(stack.base_url, seconds=45) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        sprayers = [
            host.popen("tests.support.attackers", "--tls", "spray", host.gateway,
                       str(stack.tls_port), str(LOGINS_EACH), "4")
            for host in hosts[:LOGIN_SPRAYERS]
        ]  # fmt: skip
        results = [json.loads(process.communicate(timeout=120)[0]) for process in sprayers]
        end = load.mark("done")
    report = load.report()
    figures = {**served_through(report, start, end), "api_taken_down": went_down(stack, notices)}
    statuses = sum((Counter(result["statuses"]) for result in results), Counter())
    check_invariants(
        stack, "19-login-flood", report,
        promise="logins wait for a hash, reads and writes go on",
        logins=dict(statuses), login_p50_s=max(r["p50_s"] for r in results),
        slowest_login_s=max(r["slowest_s"] for r in results), **figures,
    )  # fmt: skip
    assert statuses == {"401": LOGIN_SPRAYERS * LOGINS_EACH}, statuses  # each one hashed
    assert figures["ordinary_requests_during"] > 50, figures
    assert figures["ordinary_failed_during"] == 0, figures
    assert figures["api_taken_down"] == [], figures
    assert workers(stack) == before


def test_twelve_bodies_dribbled_past_the_proxys_buffer(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    before, notices = workers(stack), len(proxy_notices(stack))
    with Load(stack.base_url, seconds=24) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        result = attack(hosts[6], stack, "dribble", str(EACH), "2", timeout=60)
        end = load.mark("done")
    report = load.report()
    figures = {**served_through(report, start, end), "api_taken_down": went_down(stack, notices)}
    held = [request["seconds"] for request in result["requests"]]
    check_invariants(
        stack, "17-slow-bodies", report,
        promise="each dribbled body a 408 from the api after MAX_BODY_SECONDS (10 s)",
        answers=answered(result), held_s=[min(held), max(held)], **figures,
    )  # fmt: skip
    assert answered(result) == {"408": EACH}, result
    assert min(held) > MAX_BODY_SECONDS - 1, held
    assert max(held) < MAX_BODY_SECONDS + 3, held
    assert_unhurt(stack, figures, before)


def test_many_keys_and_dribbled_bodies_at_once(
    stack: ComposeProject, hosts: list[ClientHost]
) -> None:
    before, notices = workers(stack), len(proxy_notices(stack))
    with Load(stack.base_url, seconds=30) as load:
        load.sleep_until(4)
        start = load.mark("attack")
        flooding = hosts[7].popen(
            "tests.support.attackers", "--tls", "keys", hosts[7].gateway, str(stack.tls_port),
            "8", "20",
        )  # fmt: skip
        dribbled = attack(hosts[8], stack, "dribble", str(EACH), "2", timeout=60)
        flooded = json.loads(flooding.communicate(timeout=90)[0])
        end = load.mark("done")
    report = load.report()
    figures = {**served_through(report, start, end), "api_taken_down": went_down(stack, notices)}
    check_invariants(
        stack, "18-keys-and-slow-bodies", report,
        promise="both at once, from two addresses: the ordinary client as ever",
        keys=flooded, dribbled=answered(dribbled), **figures,
    )  # fmt: skip
    assert answered(dribbled) == {"408": EACH}, dribbled
    assert flooded["answered 422"] > 100, flooded
    assert_unhurt(stack, figures, before)


# Requests the door or the api refuses, each its own way, sent through the published port.
GET = b"GET /users HTTP/1.1\r\nHost: localhost\r\n"
POST = b"POST /users HTTP/1.1\r\nHost: localhost\r\n"
MALFORMED = {
    "a bad method": (b"G(T /users HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    "HTTP/0.9": (b"GET /\r\n\r\n", 400),
    "a head over 16 KiB": (GET + b"X: " + b"a" * 20_000 + b"\r\n\r\n", 400),
    "101 header lines": (GET + b"X: a\r\n" * 101 + b"\r\n", 400),
    "a space in the path": (b"GET /us ers HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    "TLS on the plain port": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 50, 400),
    "Transfer-Encoding identity, chunked": (
        POST + b"Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", 422
    ),
    "a control character in a header value": (GET + b"X: a\x01b\r\n\r\n", 400),
    "CONNECT": (b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n", 400),
    "a host and nothing else": (b"GET /users HTTP/1.1\r\nHost: localhost:@evil.com\r\n\r\n", 400),
    "a head never finished": (b"GET /users HTTP/1.1\r\nHost: loc", 408),
    "a body never finished": (POST + b"Content-Length: 10\r\n\r\n{", 408),
    "the metrics": (b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", 404),
}  # fmt: skip
# Errors HAProxy finds while it parses a request's head, before a stream exists: it
# answers them with its errorfiles since the fix of haproxy/haproxy#3032 (3.3, backported
# to 3.2), with its built-in HTML before. The stand-in of this project's sandbox is 2.6.
PARSE_ERRORS = {
    "a bad method", "HTTP/0.9", "a head over 16 KiB", "101 header lines", "a space in the path",
    "TLS on the plain port", "Transfer-Encoding identity, chunked", "a head never finished",
}  # fmt: skip


def proxy_version(stack: ComposeProject) -> tuple[int, int]:
    found = re.search(r"version (\d+)\.(\d+)", stack("exec", "-T", "proxy", "haproxy", "-v").stdout)
    assert found, "haproxy -v said no version"
    return int(found[1]), int(found[2])


def exchange(stack: ComposeProject, request: bytes, tls: bool) -> tuple[int, dict[str, str], bytes]:
    """``request`` sent as it is, over HTTPS (or the plain port): the answer's status,
    headers and body."""
    context = ssl.create_default_context()  # the tests' authority (harness.tls)
    with socket.create_connection(
        ("127.0.0.1", stack.tls_port if tls else stack.port), timeout=15
    ) as raw:
        client = context.wrap_socket(raw, server_hostname="localhost") if tls else raw
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0][9:12]), headers, body


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_every_refusal_is_the_apis_json_error(stack: ComposeProject, shape: str) -> None:
    request, status = MALFORMED[shape]
    answered_status, headers, body = exchange(stack, request, tls=shape != "TLS on the plain port")
    assert answered_status == status, (answered_status, body[:200])
    assert "server" not in headers
    if shape in PARSE_ERRORS and proxy_version(stack) < (3, 2):
        assert headers["content-type"] == "text/html", headers  # the known exception, above
        return
    assert headers["content-type"] == "application/json", (headers, body[:200])
    assert set(json.loads(body)) <= {"detail", "request_id"}
