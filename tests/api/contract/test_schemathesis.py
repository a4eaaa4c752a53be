"""Property-based: schemathesis generates requests for every operation of the live OpenAPI
document (valid and invalid ones) and checks every answer against it: no 5xx, only
documented status codes, bodies and headers that match the document.

The operations come from the app's own document, so a new route is tested as soon as
it exists; the examples are the same on every run, so a failure reproduces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi import from_dict
from schemathesis.schemas import BaseSchema

from harness.processes import RunningApi
from tools.api_table import openapi_document


def refers_to_email(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    properties = schema.get("properties", {}).values()
    return any(
        prop.get("format") == "email"
        or any(option.get("format") == "email" for option in prop.get("anyOf", []))
        for prop in properties
    )


def email_operations(document: dict[str, Any]) -> list[str]:
    """Operations whose body has an email field, found in the document itself."""
    names = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body and refers_to_email(document, body["schema"]):
                names.append(f"{method.upper()} {path}")
    return names


@pytest.fixture(scope="module")
def api_schema(api_server: RunningApi) -> BaseSchema:
    document = httpx.get(api_server.base_url + "/openapi.json", timeout=10).json()
    operations = email_operations(document)
    assert operations == ["POST /users", "PATCH /users/{user_id}"]
    config = SchemathesisConfig.from_dict(
        {
            "base-url": api_server.base_url,
            # Strings from all of Unicode, NUL included (its defaults, made explicit): the
            # bodies no JSON encoder writes (NaN, lone surrogates) are tests/api/contract/
            # test_hostile_bodies.py's, since schemathesis sends only valid JSON.
            "generation": {"allow-x00": True, "codec": "utf-8"},
            "operations": [
                {
                    # OpenAPI's `format: email` admits special-use domains (user@host.test)
                    # that email-validator refuses by design, so a schema-valid email may
                    # rightly get a 422: on these operations only, that is no failure.
                    "include-name": operations,
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                }
            ],
        }
    )
    return from_dict(document, config=config)


# The app's own document (the live server serves the same, checked below): one test
# per operation, collected before any server runs.
DOCUMENT = openapi_document()
OPERATIONS = [(method, path) for path, item in DOCUMENT["paths"].items() for method in item]


def takes_input(operation: dict[str, Any]) -> bool:
    return bool(operation.get("parameters") or operation.get("requestBody"))


def test_the_live_document_is_the_apps(api_server: RunningApi) -> None:
    assert httpx.get(api_server.base_url + "/openapi.json", timeout=10).json() == DOCUMENT


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda part: str(part))
def test_api_answers_as_documented(api_schema: BaseSchema, method: str, path: str) -> None:
    operation = api_schema[path][method]
    modes = [GenerationMode.POSITIVE]
    if takes_input(DOCUMENT["paths"][path][method]):
        modes.append(GenerationMode.NEGATIVE)  # invalid requests need input to get wrong
    for mode in modes:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=60,
            derandomize=True,  # the same examples on every run: a failure reproduces
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate()

        answers_as_documented()


def test_the_email_exclusion_applies_to_the_email_operations_only(api_schema: BaseSchema) -> None:
    excluded = set(email_operations(DOCUMENT))
    for method, path in OPERATIONS:
        operation = api_schema[path][method]
        checks = api_schema.config.checks_config_for(operation=operation, phase=None)
        enabled = checks.positive_data_acceptance.enabled
        assert enabled is (f"{method.upper()} {path}" not in excluded), (method, path)
