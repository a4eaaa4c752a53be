"""A body's cost grows with its size, no faster: each hostile shape of about 900 KB costs
the worker's event loop a small multiple of what a valid body of that size costs
(measured side by side here, from the worker's own CPU time), and is a 422."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psutil
import pytest
from sqlalchemy.engine import URL

from harness.processes import RunningApi, running_api

ITEMS = 90_000
SHAPES = {
    "many keys": orjson.dumps(dict.fromkeys((f"k{n}" for n in range(ITEMS)), 1)),
    "many array items": orjson.dumps({"username": list(range(ITEMS)), "email": "a@example.com"}),
    "many objects": orjson.dumps({"username": [{} for _ in range(ITEMS)], "email": "a@x.org"}),
    "a key given again and again": b"{" + b",".join([b'"bio":"x"'] * ITEMS) + b"}",
    "long strings in every field": orjson.dumps(
        {"username": "u" * 300_000, "email": "e" * 300_000 + "@example.com", "bio": "b" * 300_000}
    ),
    "a long email domain": orjson.dumps({"username": "u", "email": "e@" + "d." * 400_000 + "io"}),
    "combining marks": orjson.dumps({"username": "a" + "\u0301" * 400_000, "email": "a@x.org"}),
    "nested deep": b'{"bio":' + b"[" * 1000 + b"]" * 1000 + b"}",
}
REPEATS = 5
# How much more than a valid body of the same size a refused one may cost, and a floor:
# the CPU clock's tick (10 ms) over REPEATS requests, and the duplicate-key check's second
# parse (about 30 ms for 900 KB of keys). Without the key budget, 90,000 keys cost 470 ms.
MULTIPLE, FLOOR_SECONDS = 4, 0.05


@pytest.fixture(scope="module")
def one_worker(api_database: URL) -> Iterator[tuple[RunningApi, psutil.Process]]:
    with running_api(api_database, Path(tempfile.mkdtemp()), WEB_CONCURRENCY="1") as api:
        (worker,) = psutil.Process(api.process.pid).children()
        yield api, worker


def cpu_per_request(api: RunningApi, worker: psutil.Process, body: bytes) -> tuple[float, int]:
    """The worker's CPU seconds per request of ``body``, and the last answer's status."""
    status = 0
    with httpx.Client(base_url=api.base_url, timeout=60) as client:
        client.get("/healthz")  # connected, before the clock starts
        before = sum(worker.cpu_times()[:2])
        for _ in range(REPEATS):
            response = client.post(
                "/users", content=body, headers={"content-type": "application/json"}
            )
            status = response.status_code
    return (sum(worker.cpu_times()[:2]) - before) / REPEATS, status


def valid_body_of(size: int) -> bytes:
    """A create body the API takes (until its name is taken: a 409 costs the same)."""
    body = b'{"username":"cost","email":"cost@example.com","bio":"x"'
    return body + b" " * (size - len(body) - 1) + b"}"


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_refused_body_costs_about_what_a_valid_one_of_its_size_does(
    one_worker: tuple[RunningApi, psutil.Process], shape: str
) -> None:
    api, worker = one_worker
    body = SHAPES[shape]
    baseline, _ = cpu_per_request(api, worker, valid_body_of(len(body)))
    cost, status = cpu_per_request(api, worker, body)
    assert status == 422
    assert cost <= MULTIPLE * baseline + FLOOR_SECONDS, (
        f"{shape}: {cost * 1000:.0f} ms a request, a valid body of its size "
        f"{baseline * 1000:.0f} ms"
    )
