"""Guessing slowed per account, over HTTP against the real app and database: an api that
allows 3 failures in 5 s, clients at addresses of their own (X-Forwarded-For, which the
api believes from 127.0.0.1, its TRUSTED_PROXIES default)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from harness.processes import RunningApi, running_api
from harness.roles import as_owner
from tests.api.factories import PASSWORD, create_user, unique

LIMIT, WINDOW_SECONDS = 3, 5
GUESSER, OWNER = "198.51.100.7", "203.0.113.20"


@pytest.fixture(scope="module")
def throttled_api(
    api_database: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApi]:
    logs = tmp_path_factory.mktemp("throttled")
    with running_api(
        api_database, logs, LOGIN_FAILURES_PER_ACCOUNT=str(LIMIT),
        LOGIN_FAILURE_WINDOW_SECONDS=str(WINDOW_SECONDS),
    ) as api:  # fmt: skip
        yield api


@pytest.fixture
def client(throttled_api: RunningApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=throttled_api.base_url, timeout=30) as http:
        yield http


def log_in(client: httpx.Client, name: str, password: str, address: str) -> httpx.Response:
    return client.post(
        "/token", data={"username": name, "password": password},
        headers={"X-Forwarded-For": address},
    )  # fmt: skip


def guess(client: httpx.Client, name: str, address: str, times: int) -> list[int]:
    return [log_in(client, name, f"guess {n}", address).status_code for n in range(times)]


def test_a_guesser_is_refused_and_the_owner_elsewhere_logs_in(client: httpx.Client) -> None:
    user = create_user(client)
    assert guess(client, user["username"], GUESSER, LIMIT) == [401] * LIMIT
    refused = log_in(client, user["username"], PASSWORD, GUESSER)  # the right one, too
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
    assert refused.json() == {"detail": refused.json()["detail"]}
    assert "access_token" not in refused.text
    assert log_in(client, user["username"], PASSWORD, OWNER).status_code == 200


def test_an_unknown_name_is_refused_alike(client: httpx.Client) -> None:
    """A 429 that came only for real accounts would say which names exist."""
    user = create_user(client)
    answers = {}
    for name in (user["username"], unique("nobody")):
        guess(client, name, GUESSER, LIMIT)
        answer = log_in(client, name, "one more", GUESSER)
        answers[name] = (answer.status_code, answer.text)
    assert len(set(answers.values())) == 1
    assert next(iter(answers.values()))[0] == 429


def test_every_spelling_of_a_name_counts_as_one(client: httpx.Client) -> None:
    user = create_user(client)
    name = user["username"]
    guess(client, name, GUESSER, LIMIT - 1)
    assert log_in(client, name.upper(), "a capital guess", GUESSER).status_code == 401
    assert log_in(client, name.title(), "one more", GUESSER).status_code == 429


def test_the_count_starts_again_after_the_window_and_after_a_success(
    client: httpx.Client,
) -> None:
    user = create_user(client)
    name = user["username"]
    guess(client, name, GUESSER, LIMIT)
    assert log_in(client, name, PASSWORD, GUESSER).status_code == 429
    time.sleep(WINDOW_SECONDS + 0.5)
    assert guess(client, name, GUESSER, LIMIT - 1) == [401] * (LIMIT - 1)
    assert log_in(client, name, PASSWORD, GUESSER).status_code == 200
    assert guess(client, name, GUESSER, LIMIT) == [401] * LIMIT


def test_counts_whose_window_ended_are_swept(client: httpx.Client, api_database: URL) -> None:
    engine = create_engine(as_owner(api_database))
    stale = [(unique("stale"), GUESSER) for _ in range(5)]
    with engine.begin() as connection:
        for name, address in stale:
            connection.execute(
                text(
                    "INSERT INTO login_failures (username_key, address, failures, first_failed_at)"
                    " VALUES (:name, :address, 7, now() - interval '1 day')"
                ),
                {"name": name, "address": address},
            )
    guess(client, unique("sweeper"), OWNER, 1)
    with engine.begin() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM login_failures WHERE username_key = ANY(:names)"),
            {"names": [name for name, _ in stale]},
        ).scalar_one()
    engine.dispose()
    assert left == 0
