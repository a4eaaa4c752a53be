"""`make bench args=--door`: what the front door costs a read, side by side in one run.

compose.yaml as shipped with bench/compose.door.yaml (the api published directly, a
second door with the access line off, two other Docker log drivers, the bare app, a
proxy lever), and the previous release's stack from a git worktree; wrk drives each
variant in turn, the order reversed every round, each part's CPU read around every run;
bench.door_report does the arithmetic. Figures and method: bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from bench.apps import ADDRESS_HELP, LOOPBACK, docker_platform, served_at, settings_given
from bench.data import ComposeDatabase, seed
from bench.door_report import (
    APP,
    DB,
    PROXY,
    RUNTIME,
    Run,
    Summary,
    Variant,
    edited_config,
    extra,
    hop_line,
    paired,
    percent,
    ratio_range,
    table,
    tls_parameters,
)
from bench.load import OURS, Result, Scenario, require_wrk, run_wrk
from bench.measure import CpuClock, CpuMeter, container_cpu, processes_cpu
from bench.report import RESULTS, describe_machine
from harness.compose import ComposeProject, docker_available
from harness.paths import ROOT
from harness.postgres import free_port

DOOR_FILE = "bench/compose.door.yaml"
# The door before HTTPS (`git rev-parse 36ef943^`): plain HTTP, 12 connections per address.
PREVIOUS_RELEASE = "51a0d56"
# The previous door answered a 429 past 12 connections from one address: the fair count
# for both doors. The new one is also driven with 64, its own per-address default.
FAIR, WIDE = 12, 64
READ, LIST, HEALTH = "GET /users/{id}", "GET /users?limit=50", "GET /healthz (no database)"
# A post by one of 16 writers: ours with the writer's bearer token (checked, and the
# write counted against the writer's budget), the previous release's with none.
CREATE = "POST /users/{id}/posts"
PATHS = {
    READ: "/users/{id}",
    LIST: "/users?limit=50",
    HEALTH: "/healthz",
    CREATE: "/users/{id}/posts",
}
SCRIPTS = {CREATE: "create_post.lua"}
# The api variants of the overlay, each published on a port of its own (its variable).
PUBLISHED = {
    "api": "BENCH_API_PORT",
    "api-quiet": "BENCH_API_QUIET_PORT",
    "proxy-quiet": "BENCH_PROXY_QUIET_PORT",
    "api-local": "BENCH_API_LOCAL_PORT",
    "api-nonblocking": "BENCH_API_NONBLOCKING_PORT",
    "bare": "BENCH_BARE_PORT",
}
SERVICES = ("api", "api-quiet", "api-local", "api-nonblocking", "proxy", "proxy-quiet", "db")
PREVIOUS = "previous"  # the parts of the previous release's stack: previous/api, ...


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--door", action="store_true", help="this mode (make bench's switch)")
    parser.add_argument("--smoke", action="store_true", help="a quick run of everything")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; smoke 1)")
    parser.add_argument("--seconds", type=float, help="seconds per run (default 10; smoke 1)")
    parser.add_argument(
        "--previous", default=PREVIOUS_RELEASE, help="the release whose door to compare with"
    )
    parser.add_argument(
        "--no-previous", action="store_true", help="leave the previous release out (no build)"
    )
    parser.add_argument(
        "--address", default=LOOPBACK, help=ADDRESS_HELP
    )  # fmt: skip
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for this stack's services (repeatable), e.g. PROXY_API_SLOTS=50",
    )  # fmt: skip
    parser.add_argument(
        "--proxy-add", action="append", default=[], metavar="SECTION:LINE",
        help="a lever: a line for a section of a copy of haproxy.cfg, served by one more"
        " proxy in front of the same api (e.g. 'global:nbthread 2'); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--proxy-drop", action="append", default=[], metavar="LINE",
        help="a lever: a line of haproxy.cfg commented out in that copy (repeatable)",
    )  # fmt: skip
    return parser.parse_args(argv)


# -- the stacks --------------------------------------------------------------------


def lever_folder(adds: Sequence[str], drops: Sequence[str]) -> Path:
    """A copy of services/proxy with haproxy.cfg edited, readable by the proxy's user."""
    folder = Path(tempfile.mkdtemp(prefix="bench-lever-")) / "proxy"
    shutil.copytree(ROOT / "services" / "proxy", folder)
    config = folder / "haproxy.cfg"
    config.write_text(edited_config(config.read_text(), adds, drops))
    for path in [folder.parent, folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444)
    return folder


def free_subnet(taken: Sequence[str], start: int = 99) -> str:
    """A /24 in 10.213.0.0/16 that overlaps none of ``taken`` (the engine's networks):
    the previous release's `edge` network has a fixed subnet (EDGE_SUBNET)."""
    used = [ipaddress.ip_network(subnet, strict=False) for subnet in taken]
    for third in [*range(start, 256), *range(start)]:
        candidate = ipaddress.ip_network(f"10.213.{third}.0/24")
        if not any(candidate.overlaps(network) for network in used):
            return str(candidate)
    raise RuntimeError("no free /24 in 10.213.0.0/16 for the previous release's edge network")


def engine_subnets() -> list[str]:
    ids = subprocess.run(
        ["docker", "network", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout.split()
    inspected = subprocess.run(
        ["docker", "network", "inspect", *ids], capture_output=True, text=True, check=True
    ).stdout
    return [
        config["Subnet"]
        for network in json.loads(inspected)
        for config in (network.get("IPAM") or {}).get("Config") or []
        if "Subnet" in config
    ]


@dataclass
class Stacks:
    ours: ComposeProject
    previous: ComposeProject | None
    containers: Containers
    ports: dict[str, int]  # the published ports: BENCH_* variable -> port
    lever: str  # what the lever changed ("" when none)
    address: str  # where wrk reaches the published ports


def bring_up(stack: ComposeProject, setup_s: dict[str, float], label: str) -> None:
    for step, args in (("build", ("build",)), ("up", ("up", "--wait"))):
        started = time.monotonic()
        stack(*args)
        setup_s[f"{label}_{step}_s"] = time.monotonic() - started
        print(f"  {time.strftime('%H:%M:%S')} {label}: {step} done", flush=True)


Containers = dict[str, dict[str, str | int]]  # part -> its Id and its Pid on the host


def containers_of(stack: ComposeProject, services: Sequence[str], prefix: str = "") -> Containers:
    found: Containers = {}
    for service in services:
        for container_id in stack.container_ids(service):
            inspected = stack.inspect(container_id)
            found[prefix + service] = {"Id": inspected["Id"], "Pid": inspected["State"]["Pid"]}
    return found


@contextlib.contextmanager
def previous_worktree(revision: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="bench-previous-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(folder.parent, ignore_errors=True)


@contextlib.contextmanager
def stacks(args: argparse.Namespace, setup_s: dict[str, float]) -> Iterator[Stacks]:
    if not docker_available():
        raise SystemExit(
            'the door bench needs Docker (sandbox: eval "$(../shared/docker-sandbox/setup --env)")'
        )
    ours = ComposeProject(prefix="bench-door", files=("compose.yaml", DOOR_FILE))
    ports = {variable: free_port() for variable in PUBLISHED.values()}
    ours.env.update({name: str(port) for name, port in ports.items()})
    ours.env.update({**served_at(args.address), **settings_given(args.set)})
    lever = ""
    if args.proxy_add or args.proxy_drop:
        folder = lever_folder(args.proxy_add, args.proxy_drop)
        ports["BENCH_PROXY_LEVER_PORT"] = free_port()
        ours.env.update(
            BENCH_LEVER_CONFIG=str(folder),
            BENCH_PROXY_LEVER_PORT=str(ports["BENCH_PROXY_LEVER_PORT"]),
            COMPOSE_PROFILES="lever",
        )
        lever = "; ".join([*args.proxy_add, *(f"no {line}" for line in args.proxy_drop)])
    previous: ComposeProject | None = None
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(ours.remove)
        if lever:
            cleanup.callback(shutil.rmtree, folder.parent, True)
        bring_up(ours, setup_s, "this stack")
        services = [*SERVICES, "bare", *(["proxy-lever"] if lever else [])]
        containers = containers_of(ours, services)
        if not args.no_previous:
            tree = cleanup.enter_context(previous_worktree(args.previous))
            previous = ComposeProject(prefix="bench-previous", root=tree)
            previous.env["EDGE_SUBNET"] = free_subnet(engine_subnets())
            previous.env.update(served_at(args.address))
            cleanup.callback(previous.remove)
            bring_up(previous, setup_s, f"previous release {args.previous}")
            containers |= containers_of(previous, ("api", "proxy", "db"), f"{PREVIOUS}/")
        yield Stacks(ours, previous, containers, ports, lever, args.address)


# -- what is measured ---------------------------------------------------------------


def runtime_parts(stacks: Stacks) -> dict[str, CpuClock]:
    """The engine's host processes: dockerd and containerd (every container's), the
    containerd shim of each of our containers, the docker-proxy of each published port."""
    shims = {str(container["Id"]): part for part, container in stacks.containers.items()}
    published = {str(port) for port in stacks.ports.values()}
    published |= {str(stacks.ours.port), str(stacks.ours.tls_port)}
    if stacks.previous:
        published.add(str(stacks.previous.port))
    groups: dict[str, list[psutil.Process]] = {}
    for process in psutil.process_iter(["name", "cmdline"]):
        name, args = process.info["name"] or "", process.info["cmdline"] or []
        if name in ("dockerd", "containerd"):
            groups.setdefault(name, []).append(process)
        elif name.startswith("containerd-shim"):
            for container_id in set(args) & shims.keys():
                groups.setdefault(f"shim/{shims[container_id]}", []).append(process)
        elif name == "docker-proxy" and set(args) & published:
            groups.setdefault("docker-proxy", []).append(process)
    return {part: processes_cpu(group) for part, group in groups.items()}


def meter(stacks: Stacks) -> CpuMeter:
    clocks = {
        part: container_cpu(int(container["Pid"])) for part, container in stacks.containers.items()
    }
    return CpuMeter({**clocks, **runtime_parts(stacks)})


def runtime(*containers: str) -> tuple[str, ...]:
    return ("dockerd", "containerd", "docker-proxy", *(f"shim/{part}" for part in containers))


def variants(stacks: Stacks) -> dict[str, Variant]:
    ports, ours, address = stacks.ports, stacks.ours, stacks.address
    at = f"https://{address}:{{}}".format

    def door(name: str, url: str, proxy: str, api: str, db: str = "db") -> Variant:
        roles = {PROXY: (proxy,), APP: (api,), DB: (db,), RUNTIME: runtime(proxy, api)}
        return Variant(name, url, roles)

    def direct(name: str, port_variable: str, app: str) -> Variant:
        url = f"http://{address}:{ports[port_variable]}"
        return Variant(name, url, {APP: (app,), DB: ("db",), RUNTIME: runtime(app)})

    found = {
        "door": door("door, HTTPS, as shipped", at(ours.tls_port), "proxy", "api"),
        "door-http": door("door, plain HTTP", f"http://{address}:{ours.port}", "proxy", "api"),
        "door-quiet": door(
            "door, HTTPS, api line off",
            at(ports["BENCH_PROXY_QUIET_PORT"]),
            "proxy-quiet",
            "api-quiet",
        ),
        "direct": direct("api directly, as shipped", "BENCH_API_PORT", "api"),
        "direct-quiet": direct("api directly, line off", "BENCH_API_QUIET_PORT", "api-quiet"),
        "direct-local": direct("api directly, `local` driver", "BENCH_API_LOCAL_PORT", "api-local"),
        "direct-nonblocking": direct(
            "api directly, json-file non-blocking", "BENCH_API_NONBLOCKING_PORT", "api-nonblocking"
        ),
        "bare": direct("bare FastAPI + asyncpg", "BENCH_BARE_PORT", "bare"),
    }
    if stacks.lever:
        found["lever"] = door(
            f"door, HTTPS, lever: {stacks.lever}", at(ports["BENCH_PROXY_LEVER_PORT"]),
            "proxy-lever", "api",
        )  # fmt: skip
    if stacks.previous:
        found["previous"] = door(
            "previous release's door, HTTP", f"http://{address}:{stacks.previous.port}",
            f"{PREVIOUS}/proxy", f"{PREVIOUS}/api", f"{PREVIOUS}/db",
        )  # fmt: skip
    return found


def runs(found: dict[str, Variant]) -> list[Run]:
    """Every run of a round, in order (the next round takes them in reverse)."""

    def each(request: str, names: Sequence[str], connections: int = FAIR) -> list[Run]:
        return [
            Run(found[name], request, PATHS[request], connections)
            for name in names
            if name in found
        ]

    doors = ["door", "door-quiet", "lever", "previous"]
    directly = ["direct", "direct-quiet", "bare"]
    return [
        *each(READ, [*doors, *directly, "direct-local", "direct-nonblocking"]),
        *each(READ, ["door", "direct"], WIDE),
        *each(LIST, [*doors, *directly]),
        *each(HEALTH, ["door", "door-http", "direct", "previous"]),
        *each(CREATE, ["door", "previous"]),
    ]


def reached(address: str) -> str:
    if address == LOOPBACK:
        return f"the published ports at {address}, through docker-proxy"
    return f"the published ports at {address}, the host's own address, through the kernel's NAT"


def answers(run: Run) -> None:
    """One request first: wrk counts only 4xx and 5xx as errors, so a door answering 308
    (plain HTTP) or the wrong page would otherwise be measured as a fast read."""
    url = run.variant.url + run.path.replace("{id}", "1")
    # The tests' certificate (its authority in SSL_CERT_FILE, harness.tls) names the
    # loopback addresses, not an --address: the chain is checked, not the name.
    trusted = ssl.create_default_context()
    trusted.check_hostname = False
    response = httpx.get(url, timeout=30, verify=trusted)
    if response.status_code != 200:
        raise SystemExit(f"{run.variant.name}: {url} answered {response.status_code}")


def wrk_tls(url: str) -> str:
    """The TLS wrk negotiates with the door: openssl s_client with its defaults, which
    are wrk's (the same libssl; wrk sets no protocol, cipher or group of its own)."""
    address = url.removeprefix("https://")
    brief = subprocess.run(
        ["openssl", "s_client", "-connect", address, "-brief"],
        input="", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return tls_parameters(brief.stdout + brief.stderr)


def measured(bench: CpuMeter, run: Run, seconds: float, users: int) -> Result:
    script = SCRIPTS.get(run.request, "get.lua")
    scenario = Scenario(run.request, script, {OURS: run.path}, connections=run.connections)
    before, started = bench.read(), time.monotonic()
    result = run_wrk(run.variant.url, run.path, scenario, seconds, users, secrets.token_hex(2))
    result.cpu_s = bench.spent(before, bench.read())
    result.wall_s = time.monotonic() - started
    return result


def idle(bench: CpuMeter, seconds: float) -> dict[str, float]:
    """Each part's CPU per second with nothing driven (health checks, other projects)."""
    before = bench.read()
    time.sleep(seconds)
    return {part: value / seconds for part, value in bench.spent(before, bench.read()).items()}


# -- the report --------------------------------------------------------------------


def above_idle(summary: Summary, parts: Sequence[str], idle_per_s: dict[str, float]) -> float:
    """These parts' CPU per request less what they spend idle over the run's time."""
    values = [
        sum(r.cpu_s.get(part, 0.0) - idle_per_s.get(part, 0.0) * r.wall_s for part in parts)
        / r.requests
        * 1e6
        for r in summary.rounds
        if r.requests
    ]
    return sorted(values)[len(values) // 2] if values else 0.0


def log_driver_lines(
    summaries: dict[tuple[str, str, int], Summary],
    found: dict[str, Variant],
    idle_per_s: dict[str, float],
) -> list[str]:
    lines = [
        "| the api reached directly, access line on | req/s | api us | dockerd us above idle"
        " | its shim us | dockerd + shim us above idle |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("direct", "direct-local", "direct-nonblocking"):
        summary = summaries.get((found[name].name, READ, FAIR))
        if not summary:
            continue
        (app,) = found[name].roles[APP]
        dockerd = above_idle(summary, ["dockerd"], idle_per_s)
        shim = above_idle(summary, [f"shim/{app}"], idle_per_s)
        lines.append(
            f"| {found[name].name} | {summary.per_s:,.0f} | {summary.role_us(APP):,.0f}"
            f" | {dockerd:,.0f} | {shim:,.0f} | {dockerd + shim:,.0f} |"
        )
    return lines


def findings(
    summaries: dict[tuple[str, str, int], Summary], found: dict[str, Variant]
) -> list[str]:
    def get(name: str, request: str = READ, connections: int = FAIR) -> Summary | None:
        return summaries.get((found[name].name, request, connections)) if name in found else None

    lines = []
    for label, door, direct, request, connections in (
        ("the hop, reads, logs as shipped", "door", "direct", READ, FAIR),
        ("the hop, reads, line off", "door-quiet", "direct-quiet", READ, FAIR),
        (f"the hop, reads, -c{WIDE}", "door", "direct", READ, WIDE),
        ("the hop, lists, logs as shipped", "door", "direct", LIST, FAIR),
        ("the hop, no database", "door", "direct", HEALTH, FAIR),
    ):
        a, b = get(door, request, connections), get(direct, request, connections)
        if a and b:
            lines.append(hop_line(f"{label} ((door - direct) / direct)", a, b))
    https, plain = get("door", HEALTH), get("door-http", HEALTH)
    if https and plain:
        lines.append(
            f"TLS at the door (/healthz, HTTPS against plain HTTP): the proxy"
            f" {https.role_us(PROXY):,.0f} against {plain.role_us(PROXY):,.0f} us per request,"
            f" every part {https.all_us:,.0f} against {plain.all_us:,.0f} us"
        )
    shipped, quiet = get("door"), get("door-quiet")
    if shipped and quiet:
        lines.append(
            f"the api's access line, through the door: {shipped.per_s:,.0f} against"
            f" {quiet.per_s:,.0f} reads/s without it ({percent(extra(quiet.per_s, shipped.per_s))}"
            f" time per read); CPU {shipped.all_us:,.0f} against {quiet.all_us:,.0f} us"
            f" (the runtime {shipped.role_us(RUNTIME):,.0f} against {quiet.role_us(RUNTIME):,.0f})"
        )
    previous = get("previous")
    if shipped and previous:
        lines.append(
            f"this door over HTTPS as shipped against the previous release's over HTTP, reads"
            f" at -c{FAIR}: {shipped.per_s / previous.per_s:.2f}x ({shipped.per_s:,.0f} against"
            f" {previous.per_s:,.0f} reads/s; round by round"
            f" {ratio_range(paired(shipped, previous))}; the issue asks 1.3x);"
            f" CPU per read {shipped.all_us:,.0f} against {previous.all_us:,.0f} us; the"
            f" client's (wrk, on the same CPUs) {shipped.client_us:,.0f} against"
            f" {previous.client_us:,.0f} us"
        )
    created, created_before = get("door", CREATE), get("previous", CREATE)
    if created and created_before:
        lines.append(
            f"an authenticated create (a bearer token, the writer's budget counted) against"
            f" the previous release's create with no token, each through its door:"
            f" {created.per_s:,.0f} against {created_before.per_s:,.0f} creates/s; CPU per"
            f" create {created.all_us:,.0f} against {created_before.all_us:,.0f} us"
            f" ({percent(extra(created.all_us, created_before.all_us))}; the issue allows +10%)"
        )
    bare, api = get("bare"), get("direct-quiet")
    if bare and api:
        lines.append(
            f"the api (line off) against the bare app, reached directly: {api.per_s:,.0f}"
            f" against {bare.per_s:,.0f} reads/s; the app's CPU {api.role_us(APP):,.0f}"
            f" against {bare.role_us(APP):,.0f} us per read"
        )
    lever = get("lever")
    if lever and shipped:
        lines.append(
            f"the lever ({lever.run.variant.name}): {lever.per_s:,.0f} against"
            f" {shipped.per_s:,.0f} reads/s; the proxy {lever.role_us(PROXY):,.0f} against"
            f" {shipped.role_us(PROXY):,.0f} us per read"
        )
    return lines


def report(
    summaries: dict[tuple[str, str, int], Summary],
    found: dict[str, Variant],
    header: list[str],
    idle_per_s: dict[str, float],
) -> str:
    lines = [
        *header,
        "",
        *table(summaries.values()),
        "",
        "errors: non-2xx answers and socket errors (a refused connection), every round."
        " CPU columns: microseconds per request, the median of the rounds, from each"
        " container's cgroup (proxy, app, db) and the engine's host processes (runtime:"
        " dockerd, containerd, docker-proxy, the variant's containers' shims).",
        "",
        *log_driver_lines(summaries, found, idle_per_s),
        "",
        *findings(summaries, found),
        "idle (nothing driven), CPU ms per second: "
        + ", ".join(f"{part} {value * 1000:.0f}" for part, value in sorted(idle_per_s.items())),
    ]
    return "\n".join(lines)


# -- the run -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    users = 1_000 if args.smoke else 10_000
    rounds = args.rounds or (1 if args.smoke else 3)
    seconds = args.seconds or (1.0 if args.smoke else 10.0)
    require_wrk()
    setup_s: dict[str, float] = {}
    with stacks(args, setup_s) as up:
        # Our writers log in with the demo password; the previous release has no
        # password column (its writers post with no token).
        seed(ComposeDatabase(up.ours), users, 0)
        if up.previous:
            seed(ComposeDatabase(up.previous), users, 0, writers=False)
        found = variants(up)
        every = runs(found)
        for run in every:
            answers(run)
        tls = wrk_tls(found["door"].url)
        bench = meter(up)
        print(f"{time.strftime('%H:%M:%S')} warming up every variant", flush=True)
        for run in every:
            measured(bench, run, min(seconds, 2.0), users)
        idle_per_s = idle(bench, max(seconds, 4.0))
        summaries = {run.key: Summary(run) for run in every}
        for round_number in range(rounds):
            for run in every if round_number % 2 == 0 else every[::-1]:
                result = measured(bench, run, seconds, users)
                summaries[run.key].rounds.append(result)
                print(
                    f"  {time.strftime('%H:%M:%S')} round {round_number + 1}"
                    f" {run.variant.name:40s} {run.request:28s} c{run.connections:<3d}"
                    f" {result.requests_per_s:8.0f} req/s  errors {result.errors}",
                    flush=True,
                )
        header = [
            f"door mode; {users:,} users; median of {rounds} round(s) of {seconds:g}s, the order"
            f" reversed every round; {describe_machine()}; {docker_platform()}",
            f"wrk: {reached(up.address)}; 1 thread pinned to the last core, keep-alive"
            f" connections (a TLS handshake once per connection), HTTP/1.1 (wrk offers no"
            f" ALPN, so no HTTP/2); TLS as wrk negotiates it with the door: {tls}",
            "setup (s): " + ", ".join(f"{name} {value:.0f}" for name, value in setup_s.items()),
        ]
        text = report(summaries, found, header, idle_per_s)
        print("\n" + text)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "door.json").write_text(
            json.dumps(
                {
                    "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "runs": [
                        {**asdict(s.run), "rounds": [asdict(r) for r in s.rounds]}
                        for s in summaries.values()
                    ],
                    "idle_cpu_s_per_s": idle_per_s,
                    "table_markdown": text,
                },
                indent=2,
            )
        )
        print(f"\nwrote {RESULTS / 'door.json'}")


if __name__ == "__main__":
    main()
