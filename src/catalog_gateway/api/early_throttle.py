"""Refuse an over-limit event request before the application routes it.

A flooding source's requests are answered 429 almost all the time. Through FastAPI each one
still costs routing, dependency resolution and an exception handler: at thousands of requests
a second that alone saturates a process and delays everyone else. This middleware answers them
first, with nothing but a header read, an in-memory key lookup and a rate-limit hit.

It acts only when the process already knows the key (see `auth.cache`); any other request
(unknown key, admin key, JWT, other routes) goes through the application, whose own throttle
dependency counts it. A request counted here is marked so that the dependency does not count
it again.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from catalog_gateway.api.problems import problem_response
from catalog_gateway.api.protection import (
    COUNTED_STATE,
    EVENTS_POLICY,
    RATE_LIMIT_HEADERS_STATE,
    over_limit,
    source_quota,
)
from catalog_gateway.auth.cache import PrincipalCache
from catalog_gateway.observability.metrics import count_throttled
from catalog_gateway.throttling.limiter import RateLimiter

EVENT_PATHS = frozenset({"/api/v1/events", "/api/v1/events/batch"})
_BEARER = b"bearer "


class EarlyEventThrottle:
    """ASGI middleware: count a known source's event request, and answer 429 when over."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_event_post(scope):
            await self.app(scope, receive, send)
            return
        credential = _bearer_credential(scope)
        state = scope["app"].state
        principals: PrincipalCache = state.principals
        known, principal = principals.get(credential) if credential else (False, None)
        if not known or principal is None or principal.source_slug is None:
            await self.app(scope, receive, send)
            return
        limiter: RateLimiter = state.limiter
        source, allowance = source_quota(principal)
        decision = limiter.hit(EVENTS_POLICY, source, allowance)
        request_state = scope.setdefault("state", {})
        request_state[RATE_LIMIT_HEADERS_STATE] = decision.headers()
        request_state[COUNTED_STATE] = True
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        count_throttled(source, EVENTS_POLICY)
        problem = over_limit(decision, f"source {source}")
        response = problem_response(problem.status, problem.code, problem.detail, problem.headers)
        await response(scope, receive, send)


def _is_event_post(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in EVENT_PATHS


def _bearer_credential(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[: len(_BEARER)].lower() == _BEARER:
                return value[len(_BEARER) :].strip().decode("latin-1") or None
            return None
    return None
