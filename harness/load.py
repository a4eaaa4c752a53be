"""Load on the API, every request timed: for the tests, the fault suite and the online
benchmarks. ``Load`` runs writers (posts by one account it makes and logs in once) and
readers (GET /users/{id} of that account, else GET /users: not the posts table, which
faults 11 and 12 lock), each a thread with a connection of its own, so the caller's
thread is free to break something meanwhile; each request becomes a ``Sample``.
Percentiles are by nearest rank.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import secrets
import ssl
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

OK = range(200, 300)

# The password of the load's account, and of TrickledCreates' users (api.accounts).
LOAD_PASSWORD = "load test passphrase"  # noqa: S105 - a test account's


@dataclass(frozen=True)
class Sample:
    kind: str  # "create" or "read"
    started: float  # seconds since the load began
    ended: float
    outcome: str  # "201", "503", ... or the exception's class: "ConnectError"
    created_id: int | None = None
    cut: bool = False  # the response started but its body did not arrive whole
    retry_after: str | None = None  # the Retry-After header, if any

    @property
    def ok(self) -> bool:
        return not self.cut and self.outcome.isdigit() and int(self.outcome) in OK

    @property
    def kind_of_error(self) -> str:
        return f"{self.outcome} cut" if self.cut else self.outcome

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least ``fraction`` of them at or below it
    (the median of an even count is the lower middle one); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class LoadReport:
    samples: list[Sample]
    seconds: float  # how long the load ran
    marks: dict[str, float] = field(default_factory=dict)  # events, on the samples' clock

    @property
    def acknowledged_ids(self) -> set[int]:
        return {s.created_id for s in self.samples if s.created_id is not None}

    def errors_by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(s.kind_of_error for s in self.samples if not s.ok).items()))

    def successful_writes(self) -> list[float]:
        return sorted(s.ended for s in self.samples if s.kind == "create" and s.ok)

    def longest_write_gap(self) -> float:
        """The longest stretch with no successful write, the run's start and end included."""
        points = [0.0, *self.successful_writes(), self.seconds]
        return max(later - earlier for earlier, later in itertools.pairwise(points))

    def first_write_after(self, mark: str) -> float | None:
        """Seconds from the mark to the first write that started after it and succeeded."""
        at = self.marks[mark]
        ends = [s.ended for s in self.samples if s.kind == "create" and s.ok and s.started >= at]
        return min(ends) - at if ends else None

    def started_between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.started < end]

    def latency_ms(self, start: float, end: float, fraction: float) -> float:
        """A percentile of the successful requests that started in [start, end), in ms."""
        ok = [s.seconds for s in self.started_between(start, end) if s.ok]
        return round(percentile(ok, fraction) * 1000, 1)

    def error_span(self, start: float, end: float) -> float:
        """From the first failed request to the end of the last one, of those started in
        [start, end): how long clients were turned away."""
        failed = [s for s in self.started_between(start, end) if not s.ok]
        return max(s.ended for s in failed) - min(s.started for s in failed) if failed else 0.0

    def window(self, start: float, end: float) -> dict[str, float]:
        """The requests started in [start, end), failed ones included: how many, how many
        a second, p50, p99 and the slowest in ms, and how many failed."""
        during = self.started_between(start, end)
        if not during:
            return {"requests": 0}
        ms = [s.seconds * 1000 for s in during]
        return {
            "requests": len(during),
            "per_s": round(len(during) / (end - start), 1),
            "p50_ms": round(percentile(ms, 0.5), 1),
            "p99_ms": round(percentile(ms, 0.99), 1),
            "max_ms": round(max(ms), 1),
            "errors": sum(not s.ok for s in during),
        }

    def figures(self) -> dict[str, Any]:
        """What every fault case reports (the case adds what it promises)."""
        return {
            "requests": len(self.samples),
            "ok": sum(s.ok for s in self.samples),
            "errors_by_kind": self.errors_by_kind(),
            "acknowledged_writes": len(self.acknowledged_ids),
            "longest_gap_between_successful_writes_s": round(self.longest_write_gap(), 3),
            "cut_responses": sum(s.cut for s in self.samples),
            "load_seconds": round(self.seconds, 1),
        }


class Load:
    """``with Load(url, seconds=20) as load: ...break something...; report = load.report()``

    The load stops by itself after ``seconds`` (never, with ``math.inf``) or at ``stop()``;
    leaving the block stops an endless one and waits for the tasks.
    """

    def __init__(
        self,
        base_url: str,
        seconds: float,
        writers: int = 2,
        readers: int = 2,
        pause: float = 0.02,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url
        self.verify = verify  # a context trusting a stack whose authority is its own
        self.until = seconds  # on the load's clock
        # Between one task's requests: a 2-core machine also runs the api, the database
        # and docker. Each task keeps its connection alive, as a real client does.
        self.pause = pause
        self.timeout = timeout
        self.samples: list[Sample] = []
        self.marks: dict[str, float] = {}
        self.ids: list[int] = []
        self.tag = secrets.token_hex(3)  # unique names across loads on one database
        self.counter = itertools.count()
        self.started = 0.0
        # The account the writers post as: made and logged into once, at the start (an
        # Argon2id hash per write would measure hashing, not the write path).
        self.author = 0
        self.authorization: dict[str, str] = {}
        # Threads, not asyncio tasks: httpx's synchronous client spends less CPU a request,
        # on the machine that also runs what it measures.
        self.writers = writers
        self.threads = [
            threading.Thread(target=self.task, kwargs={"write": write}, daemon=True)
            for write in [True] * writers + [False] * readers
        ]

    def log_in(self) -> None:
        name = f"load{self.tag}"
        body = {"username": name, "email": f"{name}@example.com", "password": LOAD_PASSWORD}
        form = {"username": name, "password": LOAD_PASSWORD}
        with httpx.Client(base_url=self.base_url, timeout=self.timeout, verify=self.verify) as c:
            created = c.post("/users", json=body)
            assert created.status_code == 201, f"the load's account: {created.text}"
            token = c.post("/token", data=form)
            assert token.status_code == 200, f"the load's login: {token.text}"
        self.author = created.json()["id"]
        self.authorization = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def __enter__(self) -> Load:
        if self.writes() and not self.authorization:
            self.log_in()
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if math.isinf(self.until):
            self.stop()
        self.join()

    def now(self) -> float:
        """Seconds since the load began: the samples' clock."""
        return time.monotonic() - self.started

    def mark(self, name: str) -> float:
        """Records that something happened now (a fault, a recovery), on the samples' clock."""
        self.marks[name] = self.now()
        return self.marks[name]

    def sleep_until(self, at: float) -> None:
        time.sleep(max(0.0, at - self.now()))

    def stop(self) -> None:
        """No request starts from now on; those in flight finish."""
        self.until = min(self.until, self.now())

    def join(self) -> None:
        assert not math.isinf(self.until), "an endless load must be stopped first"
        give_up_at = self.until + self.timeout + 10
        for thread in self.threads:
            thread.join(max(0.0, give_up_at - self.now()))
        assert not any(thread.is_alive() for thread in self.threads), "the load did not stop"

    def report(self) -> LoadReport:
        self.join()
        return LoadReport(sorted(self.samples, key=lambda s: s.started), self.until, self.marks)

    def task(self, *, write: bool) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(
            base_url=self.base_url, timeout=self.timeout, limits=limits, verify=self.verify
        ) as client:
            while self.now() < self.until:
                request = self.create(client) if write else self.read(client)
                self.samples.append(self.send(client, request, write))
                time.sleep(self.pause)

    def writes(self) -> bool:
        return self.writers > 0

    def create(self, client: httpx.Client) -> httpx.Request:
        body = {"title": f"load {self.tag} {next(self.counter)}", "content": "load"}
        url = f"/users/{self.author}/posts"
        return client.build_request("POST", url, json=body, headers=self.authorization)

    def read(self, client: httpx.Client) -> httpx.Request:
        if self.author:
            return client.build_request("GET", f"/users/{self.author}")
        return client.build_request("GET", "/users", params={"limit": 5})

    def send(self, client: httpx.Client, request: httpx.Request, write: bool) -> Sample:
        kind = "create" if write else "read"
        started = self.now()
        try:
            response = client.send(request, stream=True)
        except httpx.HTTPError as exc:
            return Sample(kind, started, self.now(), type(exc).__name__)
        created_id, cut = None, False
        try:
            # Every answer of these routes is JSON: one that does not parse was cut short.
            body: Any = json.loads(response.read())
            if write and response.status_code in OK:
                created_id = int(body["id"])
                self.ids.append(created_id)
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            cut = True
        finally:
            response.close()
        retry_after = response.headers.get("retry-after")
        status = str(response.status_code)
        return Sample(kind, started, self.now(), status, created_id, cut, retry_after)


class TrickledCreates:
    """``count`` creates whose bodies arrive over ``seconds``: requests that are certainly
    in flight (headers in, body coming) for that long, in a thread of their own."""

    def __init__(self, base_url: str, count: int, seconds: float, parts: int = 10) -> None:
        self.base_url = base_url
        self.count = count
        self.seconds = seconds
        self.parts = parts
        self.results: list[tuple[str, int | None]] = []  # (status or exception, id)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True)

    def start(self) -> TrickledCreates:
        self.thread.start()
        return self

    def join(self) -> list[tuple[str, int | None]]:
        self.thread.join(self.seconds + 60)
        assert not self.thread.is_alive(), "trickled creates did not finish"
        return self.results

    async def run(self) -> None:
        await asyncio.gather(*(self.create() for _ in range(self.count)))

    async def create(self) -> None:
        name = f"trickle{secrets.token_hex(4)}"
        fields = {"username": name, "email": f"{name}@example.com", "password": LOAD_PASSWORD}
        body = json.dumps(fields).encode()
        step = math.ceil(len(body) / self.parts)

        async def trickle() -> AsyncIterator[bytes]:
            for start in range(0, len(body), step):
                yield body[start : start + step]
                await asyncio.sleep(self.seconds / self.parts)

        headers = {"content-type": "application/json", "content-length": str(len(body))}
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as client:
                response = await client.post("/users", content=trickle(), headers=headers)
        except httpx.HTTPError as exc:
            self.results.append((type(exc).__name__, None))
            return
        created = response.json().get("id") if response.status_code == 201 else None
        self.results.append((str(response.status_code), created))
