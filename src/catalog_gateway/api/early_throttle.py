"""Refuse an over-limit event request before the application routes it.

A flooding source's requests are answered 429 almost all the time. Through FastAPI each one
still costs routing, dependency resolution and an exception handler: at thousands of requests
a second that alone saturates a process and delays everyone else. This middleware answers them
first, with nothing but a header read, an in-memory key lookup and a rate-limit hit.

It acts only when the process already knows the key (see `auth.cache`); any other request
(unknown key, admin key, JWT, other routes) goes through the application, whose own throttle
dependency counts it. A request counted here is marked so that the dependency does not count
it again.

It is the outermost middleware, and a refusal is sent as pre-built bytes: under the bench's
flood the event loop spent most of its time on refused requests — the other middlewares'
header rewriting, building the JSON answer, a log line each (profiled: docs/performance.md).
A refused request still gets its request id, its quota headers, its metrics (the 429 counter
and the HTTP duration histogram); its log line is sampled: the first refusal of a source each
second is logged as any request is, the others are counted in a `throttled` line.
"""

from __future__ import annotations

import time
from functools import lru_cache

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from catalog_gateway.api.problems import problem_response
from catalog_gateway.api.protection import (
    COUNTED_STATE,
    EVENTS_POLICY,
    RATE_LIMIT_HEADERS_STATE,
    over_limit,
    source_quota,
)
from catalog_gateway.api.request_ids import EVENT_PATHS, REQUEST_ID_KEY, request_id_of
from catalog_gateway.auth.cache import PrincipalCache
from catalog_gateway.observability.logging import log_request, log_throttled
from catalog_gateway.observability.metrics import count_throttled, observe_request
from catalog_gateway.throttling.limiter import Decision, Quota, RateLimiter

_BEARER = b"bearer "


class EarlyEventThrottle:
    """ASGI middleware: count a known source's event request, and answer 429 when over."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._sampled = _Sampler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_event_post(scope):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
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
        await self._refuse(scope, send, decision, source, started)

    async def _refuse(
        self, scope: Scope, send: Send, decision: Decision, source: str, started: float
    ) -> None:
        """Answer 429 with the same body and headers as the application would, cheaply."""
        count_throttled(source, EVENTS_POLICY)
        body, media_type = _refusal_body(decision.quota, decision.reset_after or 1, source)
        request_id = request_id_of(scope)
        headers = [
            (b"content-type", media_type),
            (b"content-length", str(len(body)).encode()),
            *(
                (name.lower().encode(), value.encode())
                for name, value in decision.headers().items()
            ),
            (REQUEST_ID_KEY, request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        seconds = time.perf_counter() - started
        observe_request("POST", scope["path"], 429, seconds)
        if self._sampled.first_this_second(source):
            client = scope.get("client")
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                log_request(
                    method="POST",
                    route=scope["path"],
                    status=429,
                    duration_ms=seconds * 1000,
                    source=source,
                    client=client[0] if client else None,
                )


class _Sampler:
    """Per source, True for the first call of each second; the calls in between are counted
    and logged (`throttled`) with the next True."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def first_this_second(self, source: str) -> bool:
        now = time.monotonic()
        if now < self._next.get(source, 0.0):
            self._skipped[source] = self._skipped.get(source, 0) + 1
            return False
        self._next[source] = now + self.interval
        skipped = self._skipped.pop(source, 0)
        if skipped:
            log_throttled(source, skipped)
        return True


@lru_cache(maxsize=256)
def _refusal_body(allowance: Quota, retry_after: int, source: str) -> tuple[bytes, bytes]:
    """The 429 problem's body and media type, rendered as the application renders it."""
    decision = Decision(False, allowance, 0, retry_after, EVENTS_POLICY)
    problem = over_limit(decision, f"source {source}")
    response = problem_response(problem.status, problem.code, problem.detail)
    return bytes(response.body), (response.media_type or "application/json").encode()


def _is_event_post(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in EVENT_PATHS


def _bearer_credential(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[: len(_BEARER)].lower() == _BEARER:
                return value[len(_BEARER) :].strip().decode("latin-1") or None
            return None
    return None
