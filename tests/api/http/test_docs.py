"""/docs and /redoc work without internet access: the API serves every asset they use, and
a real browser that can reach nothing but this machine renders every operation."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

from api.http.docs import ASSETS_URL
from harness.paths import ROOT
from harness.processes import RunningApi
from tests.api.factories import PASSWORD, create_user
from tests.support.browser import OfflineChromium, offline_chromium_or_skip, static_site

ARTIFACTS = ROOT / "tests" / "artifacts"  # git-ignored: for a person to look at
SCREENSHOT_SIZE = (1280, 2000)
CONTENT_TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
    ".json": {"application/json"},
}
URL_ATTRIBUTES = {"src", "href", "spec-url", "action"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    operation_id: str
    tag: str


def script_base(function: Callable[..., Any], parameter: str) -> str:
    """Where FastAPI's stock page loads a UI's files from: its CDN."""
    default = inspect.signature(function).parameters[parameter].default
    return str(default).rsplit("/", 1)[0]


@dataclass(frozen=True)
class DocsUi:
    url: str
    # The element each operation renders into, found by its id.
    section_prefix: str
    section_id: Callable[[Operation], str]
    cdn: str


SWAGGER_UI = DocsUi(
    "/docs",
    "operations-",
    lambda op: f"operations-{op.tag}-{op.operation_id}",
    script_base(get_swagger_ui_html, "swagger_js_url"),
)
REDOC = DocsUi(
    "/redoc",
    "operation/",
    lambda op: f"operation/{op.operation_id}",
    script_base(get_redoc_html, "redoc_js_url"),
)
UIS = [pytest.param(SWAGGER_UI, id="swagger-ui"), pytest.param(REDOC, id="redoc")]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in URL_ATTRIBUTES and value]


def linked_urls(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


class _Sections(HTMLParser):
    """The text of each element whose id starts with ``prefix``, its descendants' included."""

    # Elements without an end tag: they open nothing.
    VOID = frozenset({
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr",
    })  # fmt: skip

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.open: list[tuple[str, str | None]] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        section = dict(attrs).get("id")
        if section is not None and section.startswith(self.prefix):
            self.text.setdefault(section, [])
        else:
            section = None
        self.open.append((tag, section))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        for _, section in self.open:
            if section is not None:
                self.text[section].append(data)


def rendered_sections(dom: str, ui: DocsUi) -> dict[str, str]:
    parser = _Sections(ui.section_prefix)
    parser.feed(dom)
    return {key: " ".join("".join(chunks).split()) for key, chunks in parser.text.items()}


def assert_lists_every_operation(dom: str, ui: DocsUi, operations: list[Operation]) -> None:
    sections = rendered_sections(dom, ui)
    for op in operations:
        text = sections.get(ui.section_id(op))
        assert text is not None, f"{ui.url}: {op.method} {op.path} was not rendered"
        assert op.summary in text, (ui.url, op, text[:300])
        assert op.path in text, (ui.url, op, text[:300])
        assert op.method in text.lower(), (ui.url, op, text[:300])


@pytest.fixture(scope="module")
def operations(api_server: RunningApi) -> list[Operation]:
    spec = httpx.get(api_server.base_url + "/openapi.json", timeout=10).json()
    found = [
        Operation(method, path, op["summary"], op["operationId"], op["tags"][0])
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]
    assert len(found) >= 14  # every operation of docs/api.md's table
    return found


@pytest.fixture(scope="module")
def browser() -> OfflineChromium:
    return offline_chromium_or_skip()


# The pages, over HTTP.


@pytest.mark.parametrize("ui", UIS)
def test_the_page_references_nothing_outside_the_api(api_server: RunningApi, ui: DocsUi) -> None:
    page = api_server.base_url + ui.url
    html = httpx.get(page, timeout=10).text
    urls = linked_urls(html) + re.findall(r"https?://[^\s\"'<>()]+", html)
    assert linked_urls(html), "the page links no asset at all"
    origin = urlsplit(api_server.base_url)
    for url in urls:
        absolute = urlsplit(urljoin(page, url))
        assert (absolute.scheme, absolute.netloc) == (origin.scheme, origin.netloc), url
    assert "fonts.googleapis.com" not in html


@pytest.mark.parametrize("ui", UIS)
def test_every_asset_the_page_references_answers_with_its_type(
    api_server: RunningApi, ui: DocsUi
) -> None:
    page = api_server.base_url + ui.url
    urls = linked_urls(httpx.get(page, timeout=10).text)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        suffix = Path(urlsplit(url).path).suffix
        assert suffix in CONTENT_TYPES, f"{url}: an asset of a kind this test does not know"
        response = httpx.get(urljoin(page, url), timeout=10)
        assert response.status_code == 200, url
        content_type = response.headers["content-type"].split(";")[0].strip()
        assert content_type in CONTENT_TYPES[suffix], (url, content_type)
        assert response.content, url


def test_assets_are_cached_for_a_year_and_errors_are_not(api_server: RunningApi) -> None:
    base = api_server.base_url + ASSETS_URL
    first = httpx.get(base + "/swagger-ui-bundle.js", timeout=10)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = httpx.get(
        base + "/swagger-ui-bundle.js", headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == first.headers["cache-control"]
    missing = httpx.get(base + "/no-such-file.js", timeout=10)
    assert missing.status_code == 404
    assert "immutable" not in missing.headers.get("cache-control", "")


def test_the_oauth2_redirect_page_is_served(api_server: RunningApi) -> None:
    response = httpx.get(api_server.base_url + "/docs/oauth2-redirect", timeout=10)
    assert response.status_code == 200
    assert "swaggerUIRedirectOauth2" in response.text


def test_the_docs_are_not_operations_of_the_api(operations: list[Operation]) -> None:
    paths = {op.path for op in operations}
    assert not {"/docs", "/docs/oauth2-redirect", "/redoc"} & paths
    assert not [path for path in paths if path.startswith("/docs-assets")]


# A real browser that reaches nothing but this machine.


@pytest.mark.parametrize("ui", UIS)
def test_an_offline_browser_renders_every_operation(
    api_server: RunningApi, browser: OfflineChromium, operations: list[Operation], ui: DocsUi
) -> None:
    assert_lists_every_operation(browser.dump_dom(api_server.base_url + ui.url), ui, operations)


@pytest.mark.parametrize("ui", UIS)
def test_the_same_page_with_cdn_assets_stays_blank_in_that_browser(
    api_server: RunningApi,
    browser: OfflineChromium,
    operations: list[Operation],
    ui: DocsUi,
    tmp_path: Path,
) -> None:
    """The proof that the browser really is offline: the API's own page, served from another
    loopback site with the document beside it, renders when its assets come from the API
    and stays blank when they come from FastAPI's CDN."""
    served = httpx.get(api_server.base_url + ui.url, timeout=10).text
    assert ASSETS_URL + "/" in served
    (tmp_path / "openapi.json").write_text(
        httpx.get(api_server.base_url + "/openapi.json", timeout=10).text
    )
    (tmp_path / "cdn.html").write_text(served.replace(ASSETS_URL, ui.cdn))
    (tmp_path / "api.html").write_text(served.replace(ASSETS_URL, api_server.base_url + ASSETS_URL))
    with static_site(tmp_path) as site:
        with_cdn = browser.dump_dom(site + "/cdn.html")
        with_api_assets = browser.dump_dom(site + "/api.html")
    assert ui.cdn in with_cdn
    assert rendered_sections(with_cdn, ui) == {}
    assert not [op.summary for op in operations if op.summary in with_cdn]
    assert_lists_every_operation(with_api_assets, ui, operations)


def test_a_screenshot_of_docs_for_a_person(
    api_server: RunningApi, browser: OfflineChromium, tmp_path: Path
) -> None:
    """Kept in tests/artifacts/docs.png (git-ignored) to look at."""
    width, height = SCREENSHOT_SIZE
    screenshot = tmp_path / "docs.png"
    browser.screenshot(api_server.base_url + "/docs", screenshot, width=width, height=height)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / "docs.png")
    size, distinct_bytes = png_facts(screenshot.read_bytes())
    assert size == SCREENSHOT_SIZE
    # A blank page is one colour: its pixel data holds a handful of byte values.
    assert distinct_bytes > 64, "the screenshot looks blank"


def png_facts(png: bytes) -> tuple[tuple[int, int], int]:
    """The image's size, and how many distinct byte values its pixel data holds."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    pixels, position = b"", 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        if kind == b"IDAT":
            pixels += png[position + 8 : position + 8 + length]
        position += 12 + length
    return (width, height), len(set(zlib.decompress(pixels)))


def test_the_authorize_button_logs_in_offline_and_its_token_writes(
    api_server: RunningApi, browser: OfflineChromium
) -> None:
    """/docs' Authorize: Swagger UI's OAuth2 password flow, what its dialog runs, in the
    browser that reaches nothing but this machine, gets a token from POST /token; the
    token Swagger UI then holds changes the user."""
    with httpx.Client(base_url=api_server.base_url, timeout=30) as client:
        user = create_user(client)
    scheme = "OAuth2PasswordBearer"
    with browser.page(api_server.base_url + "/docs") as page:
        page.wait_for(
            f"typeof ui !== 'undefined' && ui.specSelectors.securityDefinitions()?.has('{scheme}')"
        )
        # The dialog's own definition: one per OAuth2 flow, as Swagger UI splits them.
        definition = (
            f"ui.authSelectors.definitionsToAuthorize()"
            f".find(d => d.has('{scheme}')).get('{scheme}')"
        )
        login = {"name": scheme, "username": user["username"], "password": PASSWORD,
                 "passwordType": "request-body", "clientId": "", "clientSecret": ""}  # fmt: skip
        page.evaluate(
            f"ui.authActions.authorizePassword({{...{json.dumps(login)}, scopes: [],"
            f" schema: {definition}}}), true"
        )
        held = f"ui.authSelectors.authorized().getIn(['{scheme}', 'token', 'access_token'])"
        page.wait_for(held)
        headers = f"{{'Content-Type': 'application/json', Authorization: 'Bearer ' + {held}}}"
        status = page.evaluate(
            f"fetch('/users/{user['id']}', {{method: 'PATCH', headers: {headers},"
            " body: JSON.stringify({bio: 'docs'})}).then(answer => answer.status)"
        )
    assert status == 200
    assert (
        httpx.get(f"{api_server.base_url}/users/{user['id']}", timeout=10).json()["bio"] == "docs"
    )
