"""Property-based: schemathesis generates requests from our own OpenAPI document (valid and
invalid ones) and checks every answer against it: no 5xx, only documented status codes,
bodies and headers that match the document."""

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.support.processes import RunningApi

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
WITHOUT_INPUT = [("GET", "/"), ("GET", "/healthz"), ("GET", "/readyz")]
WITH_INPUT = [
    ("POST", "/users"), ("GET", "/users"), ("GET", "/users/{user_id}"),
    ("PATCH", "/users/{user_id}"), ("DELETE", "/users/{user_id}"),
    ("GET", "/users/{user_id}/posts"), ("POST", "/users/{user_id}/posts"),
    ("GET", "/posts"), ("GET", "/posts/{post_id}"),
    ("PATCH", "/posts/{post_id}"), ("DELETE", "/posts/{post_id}"),
]  # fmt: skip
# Invalid requests exist only where there is input to get wrong.
CASES = [(*op, POSITIVE) for op in WITHOUT_INPUT + WITH_INPUT] + [
    (*op, NEGATIVE) for op in WITH_INPUT
]

# OpenAPI's `format: email` admits special-use domains (say user@host.test) that
# email-validator refuses by design, so a schema-valid email may rightly get a 422.
EXCLUDED_CHECKS = [positive_data_acceptance]


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_api_answers_as_documented(
    api_server: RunningApi, method: str, path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(api_server.base_url + "/openapi.json")
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(base_url=api_server.base_url, excluded_checks=EXCLUDED_CHECKS)

    answers_as_documented()
    # The property ran against a live server, not a stub: it still answers.
    assert httpx.get(api_server.base_url + "/healthz", timeout=10).status_code == 200
