"""Upgrading a database that already holds data: the previous release's API (its code,
built into its image) fills a database at that release's head, the migrator upgrades it
to head, and the new API serves every row as written, applies the new identity rule to
what was already there, and a downgrade to the previous head and back loses nothing.

The previous release accepted names the new rule would refuse or merge with others
(a zero-width joiner, decomposed accents): they are kept as written, keyed, and taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from harness.databases import connect
from harness.processes import alembic, running_api
from shared_models.post import CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH
from shared_models.user import BIO_MAX_LENGTH, EMAIL_MAX_LENGTH, USERNAME_MAX_LENGTH
from tests.api.factories import PASSWORD
from tests.compat.releases import (
    PREVIOUS_RELEASE_HEAD,
    OldApi,
    build_api_image,
    previous_release_commit,
    remove_image,
    running_old_api,
)

pytestmark = pytest.mark.compat

LONGEST_EMAIL = "a" * 64 + "@" + "b" * (EMAIL_MAX_LENGTH - 64 - 1 - len(".example")) + ".example"
USERS: list[dict[str, Any]] = [
    {"username": "Ada", "email": "ada@example.org", "bio": "Analyst"},
    {"username": "Jos\u00e9", "email": "jose@example.org"},  # composed é
    {"username": "Rene\u0301", "email": "rene@example.org"},  # e + combining accent
    {"username": "stra\u00dfe", "email": "strasse@example.org"},
    {"username": "\u0130stanbul", "email": "istanbul@example.org"},
    {"username": "Zoe\u200d", "email": "zoe@example.org"},  # a zero-width joiner
    {"username": "\u65e5\u672c\u8a9e", "email": "nihongo@example.org"},
    {
        "username": "\u03a9" * USERNAME_MAX_LENGTH,
        "email": LONGEST_EMAIL,
        "bio": "b" * BIO_MAX_LENGTH,
    },
]
# Refused by the previous release already: one user per name whatever its case.
CASE_VARIANTS = [
    {"username": "ADA", "email": "ada2@example.org"},
    {"username": "someone", "email": "ADA@EXAMPLE.ORG"},
]
POSTS = [
    {"title": "t" * TITLE_MAX_LENGTH, "content": "c" * CONTENT_MAX_LENGTH},
    {"title": "Caf\u00e9 \U0001f600", "content": "line one\nline two\ttab"},
]
# Under the new rule each of these is already taken by a name the previous release wrote.
TAKEN_NOW = ["Ren\u00e9", "ZOE", "STRASSE", "\uff2a\uff4f\uff53\u00e9"]


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OldApi]:
    api = build_api_image(previous_release_commit(), tmp_path_factory.mktemp("previous"))
    yield api
    remove_image(api)


def fill(base_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Users and posts written through an API; what it answered for each."""
    users, posts = [], []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for body in USERS:
            created = client.post("/users", json=body)
            assert created.status_code == 201, (body, created.text)
            users.append(created.json())
        for body in CASE_VARIANTS:
            refused = client.post("/users", json=body)
            assert refused.status_code == 409, (body, refused.text)
        for user in users:
            for body in POSTS:
                created = client.post(f"/users/{user['id']}/posts", json=body)
                assert created.status_code == 201, created.text
                posts.append(created.json())
    return users, posts


def table_rows(database: URL) -> list[tuple[object, ...]]:
    with connect(database) as db:
        return [
            *db.execute("SELECT * FROM users ORDER BY id").fetchall(),
            *db.execute("SELECT * FROM posts ORDER BY id").fetchall(),
        ]


def test_a_database_the_previous_release_filled_upgrades_and_serves_every_row(
    previous_release: OldApi, empty_database: URL, tmp_path: Path
) -> None:
    alembic(empty_database, "upgrade", PREVIOUS_RELEASE_HEAD)
    with running_old_api(previous_release, empty_database) as old:
        users, posts = fill(old.base_url)

    upgraded = alembic(empty_database, "upgrade", "head")
    assert "done:" in upgraded.stderr, upgraded.stderr

    with (
        running_api(empty_database, tmp_path) as new,
        httpx.Client(base_url=new.base_url, timeout=30) as client,
    ):
        for user in users:
            assert client.get(f"/users/{user['id']}").json() == user
        for post in posts:
            assert client.get(f"/posts/{post['id']}").json() == post
        listed = client.get("/users", params={"limit": 100}).json()
        assert [user["id"] for user in listed] == [user["id"] for user in users]
        for name in TAKEN_NOW:
            body = {"username": name, "email": f"{len(name)}@x.org", "password": PASSWORD}
            taken = client.post("/users", json=body)
            assert taken.status_code == 409, (name, taken.text)
        body = {"username": "Zoe\u202e", "email": "z@x.org", "password": PASSWORD}
        refused = client.post("/users", json=body)
        assert refused.status_code == 422, refused.text
        # Users from before accounts have no password: none logs them in, none writes.
        for user in users:
            login = client.post("/token", data={"username": user["username"], "password": ""})
            assert login.status_code in (401, 422), login.text
            login = client.post("/token", data={"username": user["username"], "password": PASSWORD})
            assert login.status_code == 401, login.text
        assert client.delete(f"/users/{users[0]['id']}").status_code == 401

    before = table_rows(empty_database)
    alembic(empty_database, "downgrade", PREVIOUS_RELEASE_HEAD)
    alembic(empty_database, "upgrade", "head")
    assert table_rows(empty_database) == before
