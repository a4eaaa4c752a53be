"""The load: the scenarios, and wrk driving one of them against one app (bench/wrk/*.lua)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt

from migrator.steps.seed import DEMO_PASSWORD

WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
OURS, TUTORIAL = "ours", "tutorial"
# Posts are written as these users (user1 ... user16, bench.data gives them the demo
# password), each logged in once before a run: the write path, not the login, is measured.
WRITERS = 16


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    paths: dict[str, str]  # app -> request path (the same unless the apps differ)
    # wrk's connections, from one address: the previous door's per-client cap (12), so
    # figures compare across releases; the door's own is PROXY_REQUESTING_PER_ADDRESS.
    connections: int = 12
    read_share: int = 0
    # The table a pure-write scenario inserts into: every 2xx must have left a row there.
    writes_to: str | None = None


def scenarios(posts: int) -> list[Scenario]:
    """The scenarios of every round, in order."""
    deep = posts - 50
    return [
        Scenario("GET /users/{id}", "get.lua", {OURS: "/users/{id}", TUTORIAL: "/users/{id}"}),
        Scenario(
            "GET /posts?limit=50", "get.lua", {OURS: "/posts?limit=50", TUTORIAL: "/posts?limit=50"}
        ),
        Scenario(
            "GET /posts page near the end",
            "get.lua",
            # Keyset for us; the tutorial style pages with OFFSET.
            {OURS: f"/posts?limit=50&after={deep}", TUTORIAL: f"/posts?skip={deep}&limit=50"},
        ),
        Scenario(
            "POST /users", "create_user.lua", {OURS: "/users", TUTORIAL: "/users"},
            writes_to="users",
        ),
        Scenario(
            "POST /users/{id}/posts", "create_post.lua",
            {OURS: "/users/{id}/posts", TUTORIAL: "/users/{id}/posts"}, writes_to="posts",
        ),
        Scenario(
            "90/10 read/write mix", "create_post.lua",
            {OURS: "/users/{id}", TUTORIAL: "/users/{id}"}, read_share=90,
        ),
        NO_DATABASE,
    ]  # fmt: skip


# The ceiling without a database: the same server, port and path to it (the container
# runtime's proxy included) answering a route that does no I/O.
NO_DATABASE = Scenario(
    "no database: GET /healthz (tutorial GET /)", "get.lua", {OURS: "/healthz", TUTORIAL: "/"}
)

# The tutorial's own unpaginated list: every row per request. Run once, after the rounds:
# a request still running when wrk stops would slow whatever the tutorial serves next.
EVERY_ROW = Scenario(
    "GET /posts (tutorial: every row; 1 run)", "get.lua", {OURS: "/posts", TUTORIAL: "/posts"},
    connections=2,
)  # fmt: skip


@dataclass
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors (connect, read, write, timeout)
    requests: int
    socket_errors: int = 0
    # CPU seconds each measured part (bench.measure) used during the run, and how long
    # the run took on the wall clock (wrk's start and exit included).
    cpu_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    # wrk's own CPU seconds: the client shares the machine, and pays for TLS where the
    # door speaks it.
    client_cpu_s: float = 0.0

    @property
    def succeeded(self) -> int:
        return self.requests - self.errors


def pinned(command: list[str]) -> list[str]:
    """Load generators on the last core, where there is more than one and taskset exists."""
    cores = os.cpu_count() or 1
    if cores > 1 and shutil.which("taskset"):
        return ["taskset", "-c", str(cores - 1), *command]
    return command


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")


# Tokens live TOKEN_MINUTES (15): logged in again after 10, and not before, since the
# door lets one address log in 30 times a minute (PROXY_LOGINS_PER_ADDRESS).
TOKENS_FOR_SECONDS = 600
_tokens: dict[str, tuple[float, str]] = {}


def writer_tokens(base_url: str) -> str:
    """``id:token`` of each writer, space-separated, for create_post.lua; ``n:-`` where the
    app has no /token (the tutorial: anyone writes as anyone, and user n exists)."""
    made_at, pairs = _tokens.get(base_url, (0.0, ""))
    if time.monotonic() - made_at < TOKENS_FOR_SECONDS:
        return pairs
    found = []
    with httpx.Client(base_url=base_url, verify=False, timeout=30) as client:  # noqa: S501
        for number in range(1, WRITERS + 1):
            answer = client.post(
                "/token", data={"username": f"user{number}", "password": DEMO_PASSWORD}
            )
            if answer.status_code in (404, 405):
                found.append(f"{number}:-")
                continue
            if answer.status_code != 200:
                raise RuntimeError(
                    f"user{number} could not log in: {answer.status_code} {answer.text}"
                )
            token = answer.json()["access_token"]
            found.append(f"{jwt.decode(token, options={'verify_signature': False})['sub']}:{token}")
    _tokens[base_url] = (time.monotonic(), " ".join(found))
    return _tokens[base_url][1]


def run_wrk(
    base_url: str, path: str, scenario: Scenario, seconds: float, users: int, tag: str
) -> Result:
    """One wrk run (one thread, pinned); its numbers from report.lua's JSON line."""
    # wrk takes one script: the scenario's, with the shared reporter appended.
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write((WRK_SCRIPTS / scenario.script).read_text())
        script.write((WRK_SCRIPTS / "report.lua").read_text())
    env = {
        **os.environ,
        "BENCH_WRITERS": writer_tokens(base_url) if scenario.script == "create_post.lua" else "",
        "BENCH_PATH": path,
        "BENCH_USERS": str(users),
        "BENCH_TAG": tag,
        "BENCH_READ_SHARE": str(scenario.read_share),
    }
    command = pinned([
        "wrk", "-t1", f"-c{scenario.connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "60s", "-s", script.name, base_url,
    ])  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    finally:
        Path(script.name).unlink()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the one child waited for
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        requests_per_s=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_ms"],
        p99_ms=data["p99_ms"],
        errors=data["non_2xx"] + data["socket_errors"],
        requests=data["requests"],
        socket_errors=data["socket_errors"],
        client_cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )
