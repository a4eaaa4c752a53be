"""What a hostile client sends, in every string field of every body, POST and PATCH:
never a 500, a 422 (or the write, where the value is one the API takes) in a small,
bounded body that echoes none of it, and no traceback or oversized line in the log.

JSON that no encoder should write (NaN, Infinity, 1e400, lone surrogates) is written
here by hand: json.dumps writes NaN and escapes a lone surrogate as ``\\ud800``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from api.users.schemas import UserCreate
from harness.processes import RunningApi, running_api
from tests.api.factories import AS_OWNER, PASSWORD, create_post, create_user, unique
from tests.support.logs import log_lines
from tools.api_table import openapi_document

DOCUMENT = openapi_document()
MAX_ANSWER_BYTES = 4096  # a 422 lists at most ten errors of a few words each
MAX_LOG_LINE = 4096

# Raw JSON text for a field's value: (name, text, a value the API may take as it is).
HOSTILE: list[tuple[str, str, bool]] = [
    ("nan", "NaN", False),
    ("infinity", "Infinity", False),
    ("minus-infinity", "-Infinity", False),
    ("overflowing-float", "1e400", False),
    ("huge-integer", "1" * 400, False),
    ("lone-high-surrogate", '"a\\ud800b"', False),
    ("lone-low-surrogate", '"\\udfff"', False),
    ("nul", '"a\\u0000b"', False),
    ("million-characters", json.dumps("x" * 1_000_000), False),
    ("nested-900-deep", "[" * 900 + "]" * 900, False),
    ("nested-2000-deep", "[" * 2000 + "]" * 2000, False),
    ("object", '{"$ne": ""}', False),
    ("controls", json.dumps("tab\tbell\x07escape\x1b"), True),
    ("bidi-override", json.dumps("abc\u202edef"), True),
]


def string_fields(schema_name: str) -> list[str]:
    schema = DOCUMENT["components"]["schemas"][schema_name]
    return [
        name
        for name, prop in schema["properties"].items()
        if prop.get("type") == "string"
        or any(option.get("type") == "string" for option in prop.get("anyOf", ()))
    ]


def body_schema(method: str, path: str) -> str:
    body = DOCUMENT["paths"][path][method]["requestBody"]["content"]["application/json"]
    return str(body["schema"]["$ref"]).rsplit("/", 1)[-1]


WRITES = [
    (method, path)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
]
CASES = [
    (method, path, field, name, text, takeable)
    for method, path in WRITES
    for field in string_fields(body_schema(method, path))
    for name, text, takeable in HOSTILE
]


@pytest.fixture(scope="module")
def logged(api_database: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    logs = tmp_path_factory.mktemp("hostile")
    with running_api(api_database, logs, LOG_FORMAT="json", ACCESS_LOG="true") as api:
        yield api


@pytest.fixture(scope="module")
def owned(logged: RunningApi) -> tuple[dict[str, Any], dict[str, Any]]:
    """A user and their post, shared by the cases (an Argon2 hash each is dear)."""
    with httpx.Client(base_url=logged.base_url, timeout=30, auth=AS_OWNER) as client:
        user = create_user(client)
        return user, create_post(client, user["id"])


def valid_body(schema: str) -> dict[str, Any]:
    name = unique("hostile")
    return {
        "UserCreate": {"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        "UserUpdate": {},
        "PostCreate": {"title": "t", "content": "c"},
        "PostUpdate": {},
    }[schema]


def raw_body(schema: str, field: str, text: str) -> bytes:
    """A valid body of ``schema`` with ``field``'s value replaced by the raw JSON ``text``."""
    body = {**valid_body(schema), field: "__HOSTILE__"}
    return json.dumps(body).replace('"__HOSTILE__"', text).encode()


@pytest.mark.parametrize(
    ("method", "path", "field", "name", "text", "takeable"),
    CASES,
    ids=[f"{m} {p} {f} {n}" for m, p, f, n, _, _ in CASES],
)
def test_a_hostile_value_is_refused_in_a_few_words(
    logged: RunningApi,
    owned: tuple[dict[str, Any], dict[str, Any]],
    method: str,
    path: str,
    field: str,
    name: str,
    text: str,
    takeable: bool,
) -> None:
    with httpx.Client(base_url=logged.base_url, timeout=30, auth=AS_OWNER) as client:
        user, post = owned
        if field == "password" and takeable:  # a new password: the shared user's stays
            user = create_user(client)
        url = path.format(user_id=user["id"], post_id=post["id"])
        body = raw_body(body_schema(method, path), field, text)
        response = client.request(
            method, url, content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code != 500, response.text[:500]
    if takeable and response.status_code in (200, 201, 409):  # 409: taken by an earlier case
        return
    assert response.status_code == 422, response.text[:500]
    assert len(response.content) <= MAX_ANSWER_BYTES, len(response.content)
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert all(set(error) == {"loc", "msg", "type"} for error in detail), detail


@pytest.mark.parametrize(
    "body",
    [b"NaN", b"[" * 5000, b'"\\ud800"', b"\xff\xfe", b"{", b"", b"1e999", b"[" * 100 + b"]" * 100],
    ids=["nan", "deep-unclosed", "surrogate", "not-utf8", "unclosed", "empty", "overflow", "deep"],
)
def test_a_hostile_body_is_a_422(logged: RunningApi, body: bytes) -> None:
    response = httpx.post(
        logged.base_url + "/users",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text[:500]
    assert len(response.content) <= MAX_ANSWER_BYTES


def test_a_body_of_ten_thousand_unknown_fields_is_refused_before_validation(
    logged: RunningApi,
) -> None:
    body = {f"field_{n}": n for n in range(10_000)}
    response = httpx.post(logged.base_url + "/users", json=body, timeout=30)
    assert response.status_code == 422
    fields = len(UserCreate.model_fields)
    assert response.json()["detail"] == [
        {
            "loc": ["body"],
            "msg": f"at most {fields} keys: this body has more",
            "type": "too_many_keys",
        }
    ]


def test_a_few_unknown_fields_are_each_named(logged: RunningApi) -> None:
    """Within the budget, pydantic's own errors: the misspelt field is named."""
    response = httpx.post(logged.base_url + "/users", json={"usrname": "a", "email": "a@x.org"})
    assert response.status_code == 422
    assert ["body", "usrname"] in [error["loc"] for error in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"username": "a", "username": "b", "email": "a@example.com"}', "duplicate_key"),
        (b'{"bio": [{"a": 1, "a": 2}], "username": "a", "email": "a@x.org"}', "duplicate_key"),
        (b'{"bio": [' + b",".join([b"{}"] * 1001) + b"]}", "too_many_objects"),
        (b'{"bio": ' + b"[" * 1000 + b"]" * 1000 + b"}", "too_deep"),
    ],
    ids=["duplicate-key", "duplicate-key-nested", "too-many-objects", "deep-in-a-field"],
)
def test_what_the_budget_refuses_is_one_error(logged: RunningApi, body: bytes, kind: str) -> None:
    response = httpx.post(
        logged.base_url + "/users", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body"], kind)


def test_no_traceback_and_no_long_line_reached_the_log(logged: RunningApi) -> None:
    """Last in this module: everything above has been logged by now."""
    lines = log_lines(logged.log())
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    assert not [line for line in lines if "Traceback" in json.dumps(line)]
    longest = max(len(line) for line in logged.log().splitlines())
    assert longest <= MAX_LOG_LINE, longest
