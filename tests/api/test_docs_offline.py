"""The API docs work without internet access: `/docs` (Swagger UI) and `/redoc` (ReDoc) name
only assets the service serves itself, and render in real headless Chromium (Debian's
`/usr/bin/chromium`, through Playwright, as the console's browser tests) while every request
to another origin is aborted.

The pages don't depend on the database backend, so they run on SQLite only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from tests.api.conftest import ClientFactory
from tests.factories import url_of
from tests.gateway.conftest import served

# A cold Chromium parses 1.5 MB of Swagger UI on a 2-core machine running other tests.
RENDER_TIMEOUT_MS = 20_000
# A URL with a scheme or protocol-relative: another origin, or the same one named absolutely.
ABSOLUTE_URL = re.compile(r"(?:https?:)?//[^\s\"'<>]+", re.IGNORECASE)
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class _Urls(HTMLParser):
    """The URLs a page loads: `src` and `href` attributes, and ReDoc's `spec-url`."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in _URL_ATTRIBUTES and value]


_URL_ATTRIBUTES = {"src", "href", "spec-url"}


def loaded_urls(html: str) -> list[str]:
    """The URLs the page's tags name, and the OpenAPI document Swagger UI's script fetches."""
    parser = _Urls()
    parser.feed(html)
    return parser.urls + re.findall(r"\burl: '([^']+)'", html)


# The pages as HTML ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_url", "expected"),
    [
        (
            "/docs",
            {
                "/static/api-docs/swagger/swagger-ui-bundle.js",
                "/static/api-docs/swagger/swagger-ui.css",
                "/static/api-docs/fastapi/favicon.png",
                "/openapi.json",
            },
        ),
        (
            "/redoc",
            {
                "/static/api-docs/redoc/redoc.standalone.js",
                "/static/api-docs/fastapi/favicon.png",
                "/openapi.json",
            },
        ),
    ],
)
def test_docs_pages_name_only_same_origin_assets_and_each_is_served(
    make_client: ClientFactory, page_url: str, expected: set[str]
) -> None:
    client = make_client()

    page = client.get(page_url)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert ABSOLUTE_URL.findall(page.text) == [], "the page names another origin"
    urls = loaded_urls(page.text)
    assert set(urls) == expected
    for url in urls:
        assert url.startswith("/"), url
        assert not urlsplit(url).netloc, url
        asset = client.get(url)
        assert asset.status_code == 200, url
        content_type = asset.headers["content-type"]
        assert content_type.startswith(CONTENT_TYPES[Path(url).suffix]), (url, content_type)
        assert asset.content, url


def test_the_bundled_swagger_ui_is_version_5_and_licensed(make_client: ClientFactory) -> None:
    client = make_client()

    bundle = client.get("/static/api-docs/swagger/swagger-ui-bundle.js").text
    licence = client.get("/static/api-docs/swagger/LICENSE").text

    # Swagger UI 5 renders OpenAPI 3.1, the version FastAPI writes.
    assert re.search(r'VERSION:"5\.\d+\.\d+"', bundle)
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert "Apache License" in licence
    assert "Version 2.0" in licence


def test_redoc_logo_is_served_where_the_bundle_asks_for_it(make_client: ClientFactory) -> None:
    client = make_client()

    logo = client.get("/redoc/logo-mini.svg")

    assert logo.status_code == 200
    assert logo.headers["content-type"].startswith("image/svg+xml")
    # The packaged ReDoc build asks for its logo next to the page, not on a CDN.
    assert "cdn.redoc.ly" not in client.get("/static/api-docs/redoc/redoc.standalone.js").text


def test_docs_pages_are_prefixed_with_the_root_path(database: Database) -> None:
    """Behind a proxy that serves the service under a prefix, every URL carries it."""
    app = create_app(Settings(database_url=url_of(database)), database)
    with TestClient(app, root_path="/gateway") as client:
        swagger = client.get("/docs").text
        redoc = client.get("/redoc").text

    assert set(loaded_urls(swagger)) == {
        "/gateway/static/api-docs/swagger/swagger-ui-bundle.js",
        "/gateway/static/api-docs/swagger/swagger-ui.css",
        "/gateway/static/api-docs/fastapi/favicon.png",
        "/gateway/openapi.json",
    }
    assert "window.location.origin + '/gateway/docs/oauth2-redirect'" in swagger
    assert set(loaded_urls(redoc)) == {
        "/gateway/static/api-docs/redoc/redoc.standalone.js",
        "/gateway/static/api-docs/fastapi/favicon.png",
        "/gateway/openapi.json",
    }


def test_swagger_ui_oauth2_redirect_page_is_still_served(make_client: ClientFactory) -> None:
    client = make_client()

    redirect = client.get("/docs/oauth2-redirect")

    assert redirect.status_code == 200
    assert redirect.headers["content-type"].startswith("text/html")


def test_docs_routes_stay_out_of_the_openapi_document(make_client: ClientFactory) -> None:
    paths = make_client().get("/openapi.json").json()["paths"]

    assert not [path for path in paths if path.startswith(("/docs", "/redoc", "/static"))]


# The pages in a browser without internet -----------------------------------------------------


@pytest.fixture
def live_url(database: Database) -> Iterator[str]:
    """The service on a real uvicorn server on the loopback interface."""
    app: FastAPI = create_app(Settings(database_url=url_of(database)), database)
    with served(app) as url:
        yield url


class Offline:
    """A browser tab that reaches only the service: every request to another origin is
    aborted (and remembered), as on a machine without internet access."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.aborted: list[str] = []
        self.errors: list[str] = []
        page.route("**/*", self._route)
        page.on("console", self._console)

    def _route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:
            self.aborted.append(url)
            route.abort("internetdisconnected")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture
def offline(chromium: Browser, live_url: str) -> Iterator[Offline]:
    """A fresh 1280x800 tab, offline but for the service."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    tab = Offline(context.new_page(), live_url)
    yield tab
    context.close()


def test_swagger_ui_renders_the_operations_without_internet(
    offline: Offline, live_url: str
) -> None:
    page = offline.page

    page.goto(f"{live_url}/docs")

    post_events = page.locator(".opblock.opblock-post").filter(
        has=page.locator('.opblock-summary-path[data-path="/api/v1/events"]')
    )
    expect(post_events).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(post_events).to_contain_text("/api/v1/events")
    expect(page.locator(".opblock", has_text="/api/v1/courses").first).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("Catalog Gateway")
    # Opening an operation works too (Swagger UI's own scripts, nothing fetched elsewhere).
    post_events.locator(".opblock-summary").click()
    expect(post_events.locator(".opblock-body")).to_be_visible()
    assert offline.aborted == [], "the page asked for another origin"
    assert offline.errors == []


def test_redoc_renders_the_operations_without_internet(offline: Offline, live_url: str) -> None:
    page = offline.page

    page.goto(f"{live_url}/redoc")

    expect(page.locator("h1", has_text="Catalog Gateway").first).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    expect(page.get_by_text("/api/v1/events", exact=True).first).to_be_attached()
    expect(page.locator('img[alt="redocly logo"]')).to_be_visible()
    assert offline.aborted == [], "the page asked for another origin"
    assert offline.errors == []
