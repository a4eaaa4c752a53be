"""The write flood of issue 29, rerun with a token through compose.yaml's published HTTPS
port: 16 connections posting 100 KB posts as one account. Before budgets it grew the
database by about 32 MB a second until the disk was full; now the account's posts stop
at STORED_BYTES_PER_ACCOUNT (413s in words after it), the database grows by about that
and no more, and an ordinary reader is served all along. (This stack raises the write
rate for its loads, harness.processes: the rate's 429 is tried against the app,
tests/api/accounts/test_write_budget.py.)"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

from harness.compose import ComposeProject
from harness.load import percentile
from tests.api.factories import bearer, log_in, user_body

pytestmark = pytest.mark.e2e

STORED_BYTES = 32 * 1024 * 1024  # STORED_BYTES_PER_ACCOUNT's default
CONNECTIONS, SECONDS, POST_BYTES = 16, 8.0, 100_000
PSQL = 'psql -U "${POSTGRES_USER:-postgres}" -d app -v ON_ERROR_STOP=1 -Atc'


def query(stack: ComposeProject, sql: str) -> str:
    return stack("exec", "-T", "db", "sh", "-c", f'{PSQL} "{sql}"').stdout.strip()


@dataclass
class Tally:
    answers: dict[int, int] = field(default_factory=dict)
    details: set[str] = field(default_factory=set)
    read_ms: list[float] = field(default_factory=list)
    read_failures: int = 0


async def flood(base_url: str, user_id: int, token: str, tally: Tally, until: float) -> None:
    # Random letters: TOAST cannot compress them away, every byte reaches the disk.
    content = secrets.token_urlsafe(POST_BYTES)[:POST_BYTES]
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=bearer(token)) as http:
        while time.monotonic() < until:
            answer = await http.post(
                f"/users/{user_id}/posts", json={"title": "flood", "content": content}
            )
            tally.answers[answer.status_code] = tally.answers.get(answer.status_code, 0) + 1
            if answer.status_code != 201:
                tally.details.add(answer.text)


def read(base_url: str, user_id: int, tally: Tally, until: float) -> None:
    """The ordinary reader, in a thread of its own: the flood's event loop, busy with
    100 KB bodies, does not delay its requests (it did, on a slow machine)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while time.monotonic() < until:
            start = time.perf_counter()
            answer = http.get(f"/users/{user_id}")
            tally.read_ms.append((time.perf_counter() - start) * 1000)
            if answer.status_code != 200:
                tally.read_failures += 1
            time.sleep(0.02)


async def attack(base_url: str, attacker: dict[str, int], token: str, tally: Tally) -> None:
    until = time.monotonic() + SECONDS
    await asyncio.gather(
        *(flood(base_url, attacker["id"], token, tally, until) for _ in range(CONNECTIONS))
    )


def test_a_flood_of_posts_stops_at_the_accounts_bytes_and_reads_go_on(
    stack: ComposeProject,
) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        attacker = client.post("/users", json=user_body()).json()
        reader = client.post("/users", json=user_body()).json()
        token = log_in(client, attacker["username"])
    before = int(query(stack, "SELECT pg_database_size(current_database())"))
    tally = Tally()
    reading = threading.Thread(
        target=read, args=(stack.base_url, reader["id"], tally, time.monotonic() + SECONDS)
    )
    reading.start()
    asyncio.run(attack(stack.base_url, attacker, token, tally))
    reading.join()
    after = int(query(stack, "SELECT pg_database_size(current_database())"))
    stored = int(query(stack, f"SELECT stored_bytes FROM users WHERE id = {attacker['id']}"))
    real = int(
        query(
            stack,
            "SELECT coalesce(sum(octet_length(title) + octet_length(content)), 0) "
            f"FROM posts WHERE user_id = {attacker['id']}",
        )
    )
    grown_mib = (after - before) / 2**20
    p99 = percentile(tally.read_ms, 0.99)
    print(
        f"\nflood: {tally.answers} in {SECONDS:.0f} s; the account stores {stored:,} bytes; "
        f"the database grew {grown_mib:.1f} MiB; the reader: {len(tally.read_ms)} reads, "
        f"{tally.read_failures} failed, p99 {p99:.1f} ms"
    )
    created = tally.answers.get(201, 0)
    assert created == STORED_BYTES // (POST_BYTES + len("flood"))
    assert set(tally.answers) == {201, 413}, tally.details
    assert all("bytes" in detail for detail in tally.details)
    assert stored == real <= STORED_BYTES
    # Its posts, their TOAST index and the users rows the counts rewrote: a margin of a
    # quarter over the budget, where before budgets it was the whole disk.
    assert grown_mib <= STORED_BYTES * 1.25 / 2**20
    assert tally.read_failures == 0
    assert len(tally.read_ms) >= SECONDS  # served all along: a read a second at least
