"""The console as an application mounted under `/console`, with its own session and errors.

Mounted, not merged into the API: its session middleware and HTML error pages touch no API
request, and the API's problem+json answers never reach a browser page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from catalog_gateway.console.rendering import STATIC, base_path, page
from catalog_gateway.console.routes import router
from catalog_gateway.console.session import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECONDS,
    CsrfError,
    LoginRequiredError,
    has_login,
    session_secret,
)
from catalog_gateway.errors import CatalogGatewayError, InvalidValueError, NotFoundError
from catalog_gateway.observability.opentelemetry import NO_OPENTELEMETRY

CONSOLE_PATH = "/console"
logger = structlog.get_logger("catalog_gateway.console")

# No inline script or style anywhere in the console: the policy can forbid them.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def mount_console(app: FastAPI) -> None:
    """Serve the console under `/console`, on the app's settings, database and gateway."""
    app.mount(CONSOLE_PATH, console_app(app))


def console_app(parent: FastAPI) -> FastAPI:
    """The console application, sharing `parent`'s settings, database and event gateway."""
    settings = parent.state.settings
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=NO_OPENTELEMETRY)
    console.state.settings = settings
    console.state.database = parent.state.database
    console.state.gateway = parent.state.gateway
    console.state.loop_lag = parent.state.loop_lag
    console.state.revocations = parent.state.revocations
    if settings.console_session_secret is None and settings.workers > 1:
        logger.warning(
            "console_session_secret_unset",
            workers=settings.workers,
            detail="each worker signs console sessions with its own key, so logins will not "
            "stick: set CATALOG_GATEWAY_CONSOLE_SESSION_SECRET",
        )
    console.include_router(router)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    console.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_SECONDS,
        path=CONSOLE_PATH,
        same_site="strict",
        https_only=settings.console_secure_cookies,
    )
    console.middleware("http")(_security_headers)
    _install_error_pages(console)
    return console


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.update(_SECURITY_HEADERS)
    if not request.url.path.startswith(f"{base_path(request)}/static/"):
        # Pages show event payloads and, once, new keys: never keep them in a cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def _install_error_pages(console: FastAPI) -> None:
    """Errors as HTML pages; a visitor who is not logged in is sent to the login page."""

    @console.exception_handler(LoginRequiredError)
    async def _login_required(request: Request, _error: LoginRequiredError) -> Response:
        target = base_path(request) + "/login"
        if request.method == "GET":
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(wanted, safe="")
        return RedirectResponse(target, status_code=303)

    @console.exception_handler(CsrfError)
    async def _csrf(request: Request, _error: CsrfError) -> Response:
        message = (
            "This form is out of date or did not come from this console, so nothing was "
            "done. Reload the page and try again."
        )
        return _error_page(request, 403, message)

    @console.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        return _error_page(request, error.status_code, str(error.detail))

    @console.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        fields = ", ".join(str(item["loc"][-1]) for item in error.errors())
        return _error_page(request, 400, f"These values are not valid: {fields}.")

    @console.exception_handler(CatalogGatewayError)
    async def _domain(request: Request, error: CatalogGatewayError) -> Response:
        if isinstance(error, NotFoundError):
            status = 404
        elif isinstance(error, InvalidValueError):
            status = 400
        else:
            status = 409
        return _error_page(request, status, error.message)


def _error_page(request: Request, status: int, message: str) -> Response:
    return page(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        logged_in=has_login(request),
    )
