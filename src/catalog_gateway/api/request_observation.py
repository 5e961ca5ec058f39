"""The request's observability, as ASGI middleware outside everything else: its request id,
its log line, the in-flight gauge and the HTTP duration histogram."""

from __future__ import annotations

import time
from contextlib import nullcontext

import structlog
from starlette.requests import Request
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog_gateway.api.request_ids import EVENT_PATHS, REQUEST_ID_KEY, request_id_of
from catalog_gateway.auth.cache import PrincipalCache
from catalog_gateway.observability import metrics
from catalog_gateway.observability.logging import log_request

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "unmatched"


class RequestObservability:
    """ASGI middleware: every answer carries `X-Request-ID` (the client's, when it is 1 to 128
    printable ASCII characters; otherwise a new one), bound to the log context while the
    request is answered; then one log line and one histogram observation per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope)
        # Each request runs in a task of its own: what is bound here stays with the request
        # (and the threads it uses), including the server's log of an unexpected error.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=exchange.request_id)

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_KEY, exchange.request_id.encode()),
                ]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Before the last byte leaves: a client that has its answer finds it counted.
                exchange.finish()
            await send(message)

        kind = _kind(scope)
        try:
            with metrics.in_flight(kind) if kind else nullcontext():
                await self.app(scope, receive, send_with_request_id)
        except Exception as error:
            if exchange.status is None:
                await _answer_unexpected(exchange.app, scope, receive, send_with_request_id, error)
            raise
        finally:
            exchange.finish()


class _Exchange:
    """One request being answered, timed, counted and logged once."""

    def __init__(self, scope: Scope) -> None:
        self.started = time.perf_counter()
        self.scope = scope
        self.request_id = request_id_of(scope)
        # A mounted app (the console) replaces both on its way in: the outer ones count here.
        self.app = scope.get("app")
        self.root_path = str(scope.get("root_path", ""))
        self.status: int | None = None
        self.finished = False

    def finish(self) -> None:
        """Time, count and log the request (once; an answer never started is a 500)."""
        if self.finished:
            return
        self.finished = True
        seconds = time.perf_counter() - self.started
        status = self.status or 500
        route = route_of(self.scope, self.root_path)
        metrics.observe_request(self.scope["method"], route, status, seconds)
        client = self.scope.get("client")
        log_request(
            method=self.scope["method"],
            route=route,
            status=status,
            duration_ms=seconds * 1000,
            source=_source(self.app, self.scope),
            client=client[0] if client else None,
        )


def route_of(scope: Scope, root_path: str = "") -> str:
    """The template of the route that answered (`/api/v1/courses/{key}`), never the raw path;
    `unmatched` when no route did. `root_path` is the application's own, before any mount."""
    route = scope.get("route")
    if route is None:
        # Answered before routing: the early throttle's 429s, on paths without parameters.
        return scope["path"] if scope["path"] in EVENT_PATHS else UNMATCHED_ROUTE
    mounted = str(scope.get("root_path", ""))[len(root_path) :]
    if isinstance(route, Mount):
        # A mounted app without routes of its own (static files): its prefix, then anything.
        return f"{mounted or route.path}/{{path}}"
    return mounted + str(getattr(route, "path", ""))


def _kind(scope: Scope) -> str | None:
    """`write` for event requests, `read` for the others; None for the scrape itself, which
    should not count itself."""
    if scope["path"] == METRICS_PATH:
        return None
    if scope["method"] == "POST" and scope["path"] in EVENT_PATHS:
        return "write"
    return "read"


def _source(app: object, scope: Scope) -> str | None:
    """The caller's source, when this process knows its key (see `auth.cache`)."""
    scheme, _, credential = (_header(scope, b"authorization") or "").partition(" ")
    principals: PrincipalCache | None = getattr(getattr(app, "state", None), "principals", None)
    if scheme.lower() != "bearer" or not credential.strip() or principals is None:
        return None
    known, principal = principals.get(credential.strip())
    return principal.source_slug if known and principal else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _answer_unexpected(
    app: object, scope: Scope, receive: Receive, send: Send, error: Exception
) -> None:
    """Answer an unexpected error here, with the app's own handler, so that this answer too
    carries the request id (the server error middleware, further out, sees it answered and
    only re-raises, for the server to log)."""
    handler = getattr(app, "exception_handlers", {}).get(Exception)
    if handler is not None:
        response = await handler(Request(scope), error)
        await response(scope, receive, send)
