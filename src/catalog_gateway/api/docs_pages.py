"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), on assets the
service serves itself instead of FastAPI's CDN defaults, so that they render without internet
access (and tell no third party who reads them).

The scripts, stylesheet and icon come from the `fastapi-standalone-docs` package, which ships
Swagger UI's and ReDoc's distribution builds with their licences (only its files are used, not
its `StandaloneDocs`, which patches FastAPI's functions for every app of the process). They
are served under `/static/api-docs/`: `swagger/` (Swagger UI, Apache-2.0), `redoc/` (ReDoc,
MIT) and `fastapi/` (the favicon, MIT).

The pages answer as FastAPI's own would (no key, no throttle, the request's `root_path`
prefixed to every URL they name), including Swagger UI's OAuth2 redirect page.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_PATH = "/static/api-docs"
SWAGGER_JS = f"{ASSETS_PATH}/swagger/swagger-ui-bundle.js"
SWAGGER_CSS = f"{ASSETS_PATH}/swagger/swagger-ui.css"
REDOC_JS = f"{ASSETS_PATH}/redoc/redoc.standalone.js"
FAVICON = f"{ASSETS_PATH}/fastapi/favicon.png"
# The packaged ReDoc build loads its "API docs by Redocly" logo from the page's own path.
REDOC_LOGO = "logo-mini.svg"


def assets_directory() -> Path:
    """The packaged assets: `swagger/`, `redoc/` and `fastapi/`, each with its licence."""
    directory = Path(str(files("fastapi_standalone_docs") / "static"))
    if not (directory / "swagger" / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"the API docs' assets are missing from {directory}")
    return directory


def install_api_docs(app: FastAPI) -> None:
    """Serve `/docs` and `/redoc` on the packaged assets. The app must be created with
    `docs_url=None, redoc_url=None` (FastAPI's own pages load their assets from a CDN) and an
    `openapi_url`."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the API docs need the app's OpenAPI document (openapi_url)")
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None")
    directory = assets_directory()
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=root + SWAGGER_JS,
            swagger_css_url=root + SWAGGER_CSS,
            swagger_favicon_url=root + FAVICON,
            oauth2_redirect_url=root + oauth2_redirect_url if oauth2_redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def swagger_ui_oauth2_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=root + REDOC_JS,
            redoc_favicon_url=root + FAVICON,
            with_google_fonts=False,
        )

    async def redoc_logo(_request: Request) -> FileResponse:
        return FileResponse(directory / "redoc" / REDOC_LOGO, media_type="image/svg+xml")

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    if oauth2_redirect_url:
        app.add_route(oauth2_redirect_url, swagger_ui_oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
    app.add_route(f"{REDOC_URL}/{REDOC_LOGO}", redoc_logo, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=directory), name="api-docs-assets")


def _root_path(request: Request) -> str:
    root_path: str = request.scope.get("root_path", "")
    return root_path.rstrip("/")
