"""Every failure gets a JSON answer with a ``detail`` (api.error_handlers)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from api.observability.middleware import AccessLogPolicy, ObserveRequests
from api.settings import ApiDatabaseSettings, ApiSettings


def test_unknown_route_and_method_answer_json(client: httpx.Client) -> None:
    assert client.get("/nope").json() == {"detail": "Not Found"}
    response = client.put("/users")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def test_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/users", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.fixture
def app_with_a_failing_route() -> FastAPI:
    app = create_app(
        ApiDatabaseSettings(database_url="postgresql://nobody@127.0.0.1:9/none"), ApiSettings()
    )

    @app.get("/broken-disk")
    async def broken_disk() -> None:
        raise OSError(28, "No space left on device")

    return app


def test_an_os_error_outside_the_database_is_a_500_not_database_unavailable(
    app_with_a_failing_route: FastAPI,
) -> None:
    # In process, without the lifespan: the route touches no database.
    served = ObserveRequests(
        app_with_a_failing_route, app_with_a_failing_route.routes, AccessLogPolicy()
    )

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get("/broken-disk", headers={"X-Request-ID": "quote-me-1"})

    response = asyncio.run(call())
    assert response.status_code == 500
    # Not "database unavailable", no Retry-After; the id lets the user quote it.
    assert response.json() == {"detail": "Internal Server Error", "request_id": "quote-me-1"}
    assert response.headers["x-request-id"] == "quote-me-1"
    assert "retry-after" not in response.headers


def test_an_unhandled_error_is_logged_once_with_its_traceback_and_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: FastAPI = create_app(
        ApiDatabaseSettings(database_url="postgresql://nobody@127.0.0.1:9/none"), ApiSettings()
    )

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    served = ObserveRequests(app, app.routes, AccessLogPolicy(enabled=False))

    async def call() -> httpx.Response:
        # raise_app_exceptions: an exception that escaped would be logged by the server too.
        transport = httpx.ASGITransport(app=served, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get("/bug", headers={"X-Request-ID": "bug-7"})

    with caplog.at_level(logging.ERROR):
        response = asyncio.run(call())
    assert response.json() == {"detail": "Internal Server Error", "request_id": "bug-7"}
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "a bug" in str(record.exc_info[1])
    assert getattr(record, "request_id", None) in ("bug-7", None)  # set by the handler's filter
