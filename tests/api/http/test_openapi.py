"""The OpenAPI document is complete enough for a generated client to be usable as is."""

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from api.http.ids import MAX_ID
from api.main import ROUTERS

ERROR_SCHEMA = "#/components/schemas/ErrorOut"
VALIDATION_SCHEMA = "#/components/schemas/HTTPValidationError"
DATABASE_FREE = {("get", "/"), ("get", "/healthz")}


@pytest.fixture(scope="module")
def spec(api_server: Any) -> dict[str, Any]:
    response = httpx.get(api_server.base_url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_route_of_the_app_is_documented(spec: dict[str, Any]) -> None:
    routes = {
        (method.lower(), route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    documented = {(method, path) for method, path, _ in operations(spec)}
    assert documented == routes
    tutorial = {("get", "/"), ("post", "/users"), ("get", "/posts"), ("get", "/posts/{post_id}")}
    assert tutorial <= documented


def test_every_operation_id_is_its_function_name_under_its_routers_one_tag(
    spec: dict[str, Any],
) -> None:
    # Generators name the client after these: openapi-python-client makes the tag the
    # module and the id the function module, `api.users.get_user`.
    expected = {
        (method.lower(), route.path): (route.name, router.tags)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    assert all(len(tags) == 1 for _, tags in expected.values()), expected
    documented = {
        (method, path): (operation["operationId"], operation["tags"])
        for method, path, operation in operations(spec)
    }
    assert documented == expected
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids)), sorted(ids)


def test_every_route_has_summary_tags_and_a_typed_success(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        assert operation.get("summary"), (method, path)
        assert operation.get("tags"), (method, path)
        success = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert len(success) == 1, (method, path)
        ((code, response),) = success.items()
        if code != "204":
            assert response["content"]["application/json"]["schema"], (method, path)


def test_no_route_documents_a_400(spec: dict[str, Any]) -> None:
    """Every malformed body is a 422 (api.strict_json): no 400 to document."""
    assert not [(m, p) for m, p, op in operations(spec) if "400" in op["responses"]]


def test_every_error_a_route_can_give_is_documented(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        expected = set()
        if (method, path) not in DATABASE_FREE:
            expected.add("503")
        owned = path.startswith("/users/{user_id}")
        if "{" in path:
            # A write under /users/{user_id} needs that user's token: no 404, a 401 or 403.
            expected |= {"422"} if owned and method != "get" else {"404", "422"}
        if "{" in path and method != "get":
            expected |= {"401", "403"}
        if method in ("post", "patch"):
            expected |= {"413", "422"}
        if (method == "post" and path == "/users") or (method == "patch" and "users" in path):
            expected.add("409")
        assert expected <= set(responses), (method, path, sorted(responses))


def error_responses(spec: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (method, path, code, response)
        for method, path, operation in operations(spec)
        for code, response in operation["responses"].items()
        if code[0] in "45"
    ]


def test_every_documented_error_has_its_schema(spec: dict[str, Any]) -> None:
    # A 422 of request validation is FastAPI's list of errors; every other error the API
    # answers is ErrorOut, {"detail": "..."}, so a client reads it as one typed model.
    errors = error_responses(spec)
    assert errors
    for method, path, code, response in errors:
        schema = response["content"]["application/json"]["schema"]
        expected = VALIDATION_SCHEMA if code == "422" else ERROR_SCHEMA
        assert schema == {"$ref": expected}, (method, path, code)
    error_out = spec["components"]["schemas"]["ErrorOut"]
    assert error_out["required"] == ["detail"]
    assert error_out["properties"]["detail"]["type"] == "string"


def test_every_503_declares_retry_after(spec: dict[str, Any]) -> None:
    unavailable = [(m, p, r) for m, p, code, r in error_responses(spec) if code == "503"]
    assert len(unavailable) == len(operations(spec)) - len(DATABASE_FREE)
    for method, path, response in unavailable:
        assert response["headers"]["Retry-After"]["schema"] == {"type": "integer"}, (method, path)


def test_lists_document_their_paging_and_link_header(spec: dict[str, Any]) -> None:
    for path in ("/users", "/posts", "/users/{user_id}/posts"):
        operation = spec["paths"][path]["get"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"limit", "after"} <= names
        assert "Link" in operation["responses"]["200"]["headers"]


def admits_null(schema: Any) -> bool:
    """Whether a JSON schema allows null anywhere in it (anyOf, oneOf, a type list...)."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind) or schema.get("nullable"):
            return True
        return any(admits_null(value) for value in schema.values())
    if isinstance(schema, list):
        return any(admits_null(item) for item in schema)
    return False


def test_no_parameter_admits_null(spec: dict[str, Any]) -> None:
    # A path or query string cannot carry null: an optional parameter is one left out.
    parameters = [
        (method, path, parameter)
        for method, path, operation in operations(spec)
        for parameter in operation.get("parameters", [])
    ]
    assert parameters
    for method, path, parameter in parameters:
        assert not admits_null(parameter["schema"]), (method, path, parameter)


def test_the_author_filter_is_an_optional_id(spec: dict[str, Any]) -> None:
    (author,) = [p for p in spec["paths"]["/posts"]["get"]["parameters"] if p["name"] == "user_id"]
    (user_id,) = spec["paths"]["/users/{user_id}"]["get"]["parameters"]
    assert author["in"] == "query"
    assert author["required"] is False
    bounds = ("type", "exclusiveMinimum", "maximum")
    assert {key: author["schema"][key] for key in bounds} == {
        key: user_id["schema"][key] for key in bounds
    }
    assert author["schema"]["maximum"] == MAX_ID


def test_partial_updates_do_not_advertise_null_for_required_columns(spec: dict[str, Any]) -> None:
    properties = spec["components"]["schemas"]["UserUpdate"]["properties"]
    assert "anyOf" not in properties["username"]
    assert {"type": "null"} in properties["bio"]["anyOf"]


def test_docs_page_is_served(api_server: Any) -> None:
    response = httpx.get(api_server.base_url + "/docs", timeout=10)
    assert response.status_code == 200
    assert "swagger-ui" in response.text
