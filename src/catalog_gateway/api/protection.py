"""The HTTP side of protection: rate limits and load shedding (input limits: `json_body`).

Everything here runs before a request's body is read, so a throttled or shed request costs
almost nothing and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog_gateway.api.dependencies import (
    get_settings,
    optional_principal,
    require_source,
)
from catalog_gateway.api.problems import ProblemError
from catalog_gateway.auth.principal import Principal
from catalog_gateway.errors import ErrorCode
from catalog_gateway.observability.metrics import count_shed, count_throttled
from catalog_gateway.settings import Settings
from catalog_gateway.throttling.limiter import Decision, Quota, RateLimiter, quota

EVENTS_POLICY = "events"
READS_POLICY = "reads"
RATE_LIMIT_HEADERS_STATE = "rate_limit_headers"
COUNTED_STATE = "event_counted"


def limiter_of(request: Request) -> RateLimiter:
    """The app's rate limiter."""
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter, as a dependency (async: no trip to the thread pool)."""
    return limiter_of(request)


async def throttle_events(
    request: Request,
    caller: Annotated[Principal, Depends(require_source)],
    limiter: Annotated[RateLimiter, Depends(get_limiter)],
) -> Principal:
    """Count one event for the caller's source; 429 when its rate and burst are spent.

    A request whose key the process already knew was counted by `EarlyEventThrottle`, before
    FastAPI even routed it: it is not counted twice.
    """
    if request.scope.get("state", {}).get(COUNTED_STATE):
        return caller
    source, allowance = source_quota(caller)
    decision = limiter.hit(EVENTS_POLICY, source, allowance)
    _answer_quota(request, decision, f"source {source}", source)
    return caller


def charge_more_events(request: Request, caller: Principal, count: int) -> None:
    """Count the rest of a batch's events (the request itself counted one)."""
    if count <= 0:
        return
    source, allowance = source_quota(caller)
    decision = limiter_of(request).hit(EVENTS_POLICY, source, allowance, cost=count)
    _answer_quota(request, decision, f"source {source}", source)


def source_quota(caller: Principal) -> tuple[str, Quota]:
    """The source's slug and quota (only a source's key has one)."""
    if caller.source_slug is None or caller.rate is None or caller.burst is None:
        raise RuntimeError("only a source's key has a quota")
    return caller.source_slug, quota(caller.rate, caller.burst)


async def throttle_reads(
    request: Request,
    caller: Annotated[Principal | None, Depends(optional_principal)],
    limiter: Annotated[RateLimiter, Depends(get_limiter)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> None:
    """Reads have their own limit, per key (or per address without one)."""
    client = caller.key_id if caller else f"ip:{request.client.host if request.client else '-'}"
    decision = limiter.hit(READS_POLICY, client, quota(settings.read_rate, settings.read_burst))
    _answer_quota(request, decision, "this client's reads", caller.source_slug if caller else None)


def _answer_quota(request: Request, decision: Decision, who: str, source: str | None) -> None:
    request.scope.setdefault("state", {})[RATE_LIMIT_HEADERS_STATE] = decision.headers()
    if not decision.allowed:
        count_throttled(source or "-", decision.policy)
        raise over_limit(decision, who)


def over_limit(decision: Decision, who: str) -> ProblemError:
    """The 429 for a refused `decision`."""
    return ProblemError(
        429,
        ErrorCode.THROTTLED,
        f"{who} is over its rate limit ({decision.quota.requests} requests per "
        f"{decision.quota.window} s); retry after {decision.reset_after or 1} s",
        headers=decision.headers(),
    )


class RateLimitHeaders:
    """ASGI middleware: every answer carries the quota headers of the limit that counted it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota_headers = scope.get("state", {}).get(RATE_LIMIT_HEADERS_STATE)
                if quota_headers:
                    existing = {name.lower() for name, _ in message.get("headers", [])}
                    message["headers"] = list(message.get("headers", [])) + [
                        (name.lower().encode(), value.encode())
                        for name, value in quota_headers.items()
                        if name.lower().encode() not in existing
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WriteGate:
    """At most `capacity` event requests in flight per process; others wait briefly, then are
    shed. Reads never pass through it, so they never queue behind writes."""

    def __init__(self, capacity: int, wait_seconds: float) -> None:
        self.capacity = capacity
        self.wait_seconds = wait_seconds
        self._semaphore: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def admit(self, route: str) -> AsyncIterator[None]:
        """Hold a slot for the block, or raise 503 `overloaded` (counted for `route`)."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.capacity)
        try:
            if self.wait_seconds > 0:
                await asyncio.wait_for(self._semaphore.acquire(), timeout=self.wait_seconds)
            elif self._semaphore.locked():  # no waiting at all: shed at once when full
                raise TimeoutError
            else:
                await self._semaphore.acquire()  # free: returns without suspending
        except TimeoutError:
            count_shed(route)
            raise ProblemError(
                503,
                ErrorCode.OVERLOADED,
                "the gateway is at capacity; nothing was changed: send the request again",
                headers={"Retry-After": "1"},
            ) from None
        try:
            yield
        finally:
            self._semaphore.release()


EventsCaller = Annotated[Principal, Depends(throttle_events)]
ThrottledReads = Depends(throttle_reads)
