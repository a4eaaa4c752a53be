"""Swagger UI at /docs and ReDoc at /redoc, served entirely by the API.

FastAPI's own pages load their JavaScript and CSS from a public CDN (and ReDoc's its fonts
from Google), so on a machine without internet access they stay blank. Here the assets come
from the `fastapi-offline` package, a dependency of the api package, so the image carries
them; the pages are FastAPI's `get_swagger_ui_html` and `get_redoc_html` pointed at them.
"""

from importlib.metadata import version
from os import PathLike, stat_result

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_PACKAGE = "fastapi-offline"
# The package version is part of every asset URL: an upgrade changes the URLs, so a browser
# may keep what it fetched from one for as long as it likes.
ASSETS_URL = f"/docs-assets/{version(ASSETS_PACKAGE)}"
ASSETS_CACHE_CONTROL = "public, max-age=31536000, immutable"


class _VersionedAssets(StaticFiles):
    """The package's static folder, every file (and its 304) marked cacheable for a year."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = ASSETS_CACHE_CONTROL
        return response


def install_docs(app: FastAPI) -> None:
    """Mount the assets and add /docs, /docs/oauth2-redirect and /redoc to ``app``, which
    must have been created with ``docs_url=None, redoc_url=None``. None of it is part of
    the OpenAPI document."""
    openapi_url = app.openapi_url
    if openapi_url is None:  # no document, nothing to show (FastAPI does the same)
        return
    app.mount(
        ASSETS_URL,
        _VersionedAssets(packages=[("fastapi_offline", "static")]),
        name="docs-assets",
    )
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url

    def root_path(request: Request) -> str:
        # Behind a proxy that strips a prefix, every URL the page uses needs it back.
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=root + oauth2_redirect_url if oauth2_redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            # Swagger UI's default validator is an image from validator.swagger.io (shown by
            # other layouts than FastAPI's): it would leak the document's URL and fail offline.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = root_path(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # Its default loads fonts.googleapis.com; without them ReDoc uses system fonts.
            with_google_fonts=False,
        )

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    # Plain routes (GET and HEAD), as FastAPI adds its own docs pages.
    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    if oauth2_redirect_url:
        app.add_route(oauth2_redirect_url, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
