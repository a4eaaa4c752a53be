"""The door benchmark's arithmetic and tables (bench.door): medians and ranges over
rounds, CPU per request by role, the hop's cost, the proxy lever's edited configuration
and the TLS parameters openssl reports. Pure functions of what the runs measured."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bench.load import Result

# The roles a variant's CPU is reported by; each names the parts (containers, host
# processes) that play it for that variant.
PROXY, APP, DB, RUNTIME = "proxy", "app", "db", "runtime"
ROLES = (PROXY, APP, DB, RUNTIME)


@dataclass(frozen=True)
class Variant:
    """One way of serving the read: its URL and the measured parts of each role."""

    name: str
    url: str
    roles: dict[str, tuple[str, ...]]  # role -> parts


@dataclass(frozen=True)
class Run:
    variant: Variant
    request: str  # what the table calls it: "GET /users/{id}"
    path: str  # what wrk asks for ({id}: a random user)
    connections: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.variant.name, self.request, self.connections)


@dataclass
class Summary:
    """A run's rounds: medians, the range of req/s, CPU microseconds per request by role."""

    run: Run
    rounds: list[Result] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [result.requests_per_s for result in self.rounds]

    @property
    def per_s(self) -> float:
        return statistics.median(self.rates) if self.rounds else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds) if self.rounds else 0.0

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds) if self.rounds else 0.0

    @property
    def errors(self) -> int:
        """Non-2xx answers and socket errors (a refused connection is one), every round."""
        return sum(result.errors for result in self.rounds)

    @property
    def socket_errors(self) -> int:
        return sum(result.socket_errors for result in self.rounds)

    def per_request_us(self, seconds: Callable[[Result], float]) -> float:
        """The median over rounds of the CPU seconds a round spent, per request, in us."""
        done = [r for r in self.rounds if r.requests]
        return statistics.median(seconds(r) / r.requests * 1e6 for r in done) if done else 0.0

    def parts_us(self, parts: Iterable[str]) -> float:
        """The median over rounds of some parts' CPU per request (their sum each round)."""
        return self.per_request_us(lambda r: sum(r.cpu_s.get(part, 0.0) for part in parts))

    def part_us(self, part: str) -> float:
        return self.parts_us((part,))

    def role_us(self, role: str) -> float:
        return self.parts_us(self.run.variant.roles.get(role, ()))

    @property
    def client_us(self) -> float:
        """wrk's own CPU per request."""
        return self.per_request_us(lambda r: r.client_cpu_s)

    @property
    def all_us(self) -> float:
        """Every role's CPU per request."""
        return self.parts_us(
            [part for role in ROLES for part in self.run.variant.roles.get(role, ())]
        )


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: how far the rounds of one run moved."""
    middle = statistics.median(values) if values else 0.0
    return (max(values) - min(values)) / middle if middle else 0.0


def extra(slower: float, faster: float) -> float:
    """What ``slower`` costs more than ``faster``, as a share of ``faster``: (a - b) / b.
    For time per request from two rates, pass the rates the other way round:
    ``extra(1 / door_rate, 1 / direct_rate) == extra(direct_rate, door_rate)``."""
    return (slower - faster) / faster if faster else float("nan")


def percent(share: float) -> str:
    return f"{share:+.0%}" if share == share else "n/a"  # NaN: no baseline


def count(value: float) -> str:
    return f"{value:,.0f}"


def milliseconds(value: float) -> str:
    return f"{value:,.1f}"


TABLE_HEAD = [
    "| variant | request | conns | req/s | range (spread) | p50 / p99 ms | errors "
    "| proxy us | app us | db us | runtime us | all us |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def errors(summary: Summary) -> str:
    """Every round's non-2xx answers and socket errors; how many were the latter."""
    if summary.socket_errors:
        return f"{summary.errors} ({summary.socket_errors} socket)"
    return str(summary.errors)


def table_row(summary: Summary) -> str:
    run, rates = summary.run, summary.rates
    cpu = [count(summary.role_us(role)) if run.variant.roles.get(role) else "-" for role in ROLES]
    return (
        f"| {run.variant.name} | {run.request} | {run.connections} | {count(summary.per_s)}"
        f" | {count(min(rates))}-{count(max(rates))} ({spread(rates):.0%})"
        f" | {milliseconds(summary.p50_ms)} / {milliseconds(summary.p99_ms)}"
        f" | {errors(summary)} | {' | '.join(cpu)} | {count(summary.all_us)} |"
    )


def table(summaries: Iterable[Summary]) -> list[str]:
    return [*TABLE_HEAD, *(table_row(summary) for summary in summaries)]


def paired(a: Summary, b: Summary) -> list[float]:
    """a's rate over b's, round by round: the two ran minutes apart at most, in the same
    round, so a round's ratio sees less of the machine's drift than the medians'."""
    return [
        x.requests_per_s / y.requests_per_s
        for x, y in zip(a.rounds, b.rounds, strict=False)
        if y.requests_per_s
    ]


def ratio_range(ratios: Sequence[float], form: str = "{:.2f}x") -> str:
    if not ratios:
        return "n/a"
    low, high = min(ratios), max(ratios)
    return form.format(low) if low == high else f"{form.format(low)} to {form.format(high)}"


def hop_line(label: str, door: Summary, direct: Summary) -> str:
    """The hop's cost per request: time (from the rates) and CPU (every role's)."""
    rounds = [1 / ratio - 1 for ratio in paired(door, direct) if ratio]
    return (
        f"{label}: time per request {percent(extra(direct.per_s, door.per_s))}"
        f" ({count(door.per_s)} against {count(direct.per_s)} req/s;"
        f" round by round {ratio_range(rounds, '{:+.0%}')}),"
        f" CPU per request {percent(extra(door.all_us, direct.all_us))}"
        f" ({count(door.all_us)} against {count(direct.all_us)} us;"
        f" the proxy {count(door.role_us(PROXY))} us)"
    )


# -- the lever: the shipped haproxy.cfg, edited ----------------------------------------


def edited_config(text: str, adds: Sequence[str], drops: Sequence[str]) -> str:
    """haproxy.cfg with ``adds`` ("SECTION:LINE": the line appended at the start of the
    section whose header is SECTION, e.g. "global:nbthread 2") and ``drops`` (lines, as
    they read without indentation, commented out). A section or line not found is an
    error: a lever that changes nothing must not be measured as one."""
    lines = text.splitlines()
    for drop in drops:
        hits = [i for i, line in enumerate(lines) if line.strip() == drop.strip()]
        if not hits:
            raise ValueError(f"no line {drop!r} in the proxy's configuration")
        for i in hits:
            lines[i] = re.sub(r"^(\s*)", r"\1# bench lever: ", lines[i], count=1)
    for add in adds:
        section, sep, line = add.partition(":")
        if not sep or not line.strip():
            raise ValueError(f"--proxy-add takes SECTION:LINE, got {add!r}")
        headers = [i for i, text_line in enumerate(lines) if text_line.strip() == section.strip()]
        if not headers:
            raise ValueError(f"no section {section!r} in the proxy's configuration")
        lines.insert(headers[0] + 1, f"    {line.strip()}")
    return "\n".join(lines) + "\n"


# -- TLS ---------------------------------------------------------------------------


def tls_parameters(brief: str) -> str:
    """Protocol, cipher and key exchange from `openssl s_client -brief`'s summary."""
    found = {}
    for line in brief.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            found[name.strip()] = value.strip()
    fields = [
        found.get("Protocol version", "?"),
        found.get("Ciphersuite", "?"),
        found.get("Negotiated TLS1.3 group") or found.get("Server Temp Key", "?"),
    ]
    return ", ".join(fields)
