"""The gateway's HTTP API as `ingest` uses it, with the waiting and retrying done here.

- `429 throttled` and `503` (overloaded, downstream unavailable, database failure) change
  nothing at the gateway: the request is sent again after its `Retry-After`.
- Connection errors and timeouts are retried with exponential backoff. Sending an event again
  is safe: the gateway answers a known event id with its stored answer.
- A batch that can never pass (over the body limit, or more events than the source's whole
  rate-limit window holds) is not retried: the caller is told to split it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential_jitter,
    wait_random,
)

from catalog_gateway.ingest.answers import Answer, Reply

DEFAULT_URL = "http://127.0.0.1:8000"
EVENTS_PATH = "/api/v1/events"
BATCH_PATH = "/api/v1/events/batch"
PROBLEM_JSON = "application/problem+json"
REPLAYED_HEADER = "Idempotent-Replayed"
_EVENTS_QUOTA = re.compile(r'"events";\s*q=(\d+)')

ProductKind = Literal["courses", "degrees"]


class GatewayError(Exception):
    """The run cannot go on; the message says why."""


class KeyRefusedError(GatewayError):
    """The gateway refused the key, or the key is not the source's."""


class GatewayUnavailableError(GatewayError):
    """The gateway could not be reached, or kept asking to wait, for longer than allowed."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying one request."""

    connection_attempts: int = 6
    wait_budget_seconds: float = 900.0  # throttled or shed: keep waiting this long at most
    first_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class SplitNeeded:
    """The batch can never pass as it is: send it in smaller parts."""

    reason: str
    at_most: int | None = None  # events per part, when the rate-limit quota says so


class _RetryLaterError(Exception):
    def __init__(self, reason: str, after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class GatewayClient:
    """One source's connection to the gateway (an async context manager)."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.policy = policy or RetryPolicy()
        self._backoff = wait_exponential_jitter(
            multiplier=self.policy.first_backoff_seconds,
            max=self.policy.max_backoff_seconds,
            jitter=self.policy.first_backoff_seconds,
        )
        # the largest batch the source's rate limit admits, learnt from `RateLimit-Policy`
        self.events_quota: int | None = None
        self._http = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {key}", "User-Agent": "catalog-gateway-ingest"},
            timeout=httpx.Timeout(600.0, connect=10.0),  # a batch of 500 events takes a while
            transport=transport,
        )

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def check_source(self, slug: str) -> None:
        """Fail unless the key is `slug`'s: a source may read its own event log and no other's."""
        response = await self._send("GET", EVENTS_PATH, params={"source": slug, "limit": 1})
        if response.status_code == 200:
            return
        if response.status_code == 401:
            raise KeyRefusedError(
                f"the gateway refused the key (unknown, revoked or expired): {_describe(response)}"
            )
        if response.status_code == 403:
            raise KeyRefusedError(f"the key does not belong to source {slug}")
        if response.status_code == 404:
            raise KeyRefusedError(f"no source {slug} (and this is an admin key, not its key)")
        raise GatewayError(f"could not check the key: {_describe(response)}")

    async def post_batch(
        self, envelopes: list[dict[str, Any]], *, dry_run: bool = False
    ) -> list[Reply] | SplitNeeded:
        """Send events in one batch; one reply per event, in order (with `dry_run`, only
        transformed, validated and planned)."""
        response = await self._send(
            "POST",
            BATCH_PATH,
            cost=len(envelopes),
            json={"events": envelopes, "error_policy": "independent"},
            params={"dry_run": "true"} if dry_run else None,
        )
        status = response.status_code
        if status == 413:
            return SplitNeeded(_describe(response))
        if status == 429:
            return SplitNeeded(_describe(response), self.events_quota)
        if status in (401, 403):
            raise KeyRefusedError(f"the gateway refused the key: {_describe(response)}")
        if status != 200:
            return [Reply.failed(f"the gateway answered {_describe(response)}", status)] * len(
                envelopes
            )
        return _batch_replies(response, envelopes)

    async def list_products(self, kind: ProductKind, slug: str) -> list[dict[str, Any]]:
        """Every published course (or degree) of the source, all pages."""
        products: list[dict[str, Any]] = []
        params = {"source": slug, "status": "published"}
        while True:
            response = await self._send("GET", f"/api/v1/{kind}", params=params)
            if response.status_code in (401, 403):
                raise KeyRefusedError(f"the gateway refused the key: {_describe(response)}")
            if response.status_code != 200:
                raise GatewayError(f"could not list the source's {kind}: {_describe(response)}")
            page = response.json()
            products.extend(page["results"])
            if not page.get("next"):
                return products
            params = {**params, "cursor": page["next"]}

    # --- one request, retried -----------------------------------------------------------

    async def _send(
        self, method: str, path: str, *, cost: int = 0, **options: Any
    ) -> httpx.Response:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((_RetryLaterError, httpx.TransportError)),
            wait=self._wait,
            stop=self._give_up,
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(self._attempt, method, path, cost, options)
        except _RetryLaterError as error:
            raise GatewayUnavailableError(
                f"the gateway kept answering {error.reason} for "
                f"{self.policy.wait_budget_seconds:.0f} s; nothing more was sent"
            ) from None
        except httpx.TransportError as error:
            raise GatewayUnavailableError(
                f"cannot reach the gateway at {self.url} ({type(error).__name__}: {error}) "
                f"after {self.policy.connection_attempts} attempts"
            ) from None
        return response

    async def _attempt(
        self, method: str, path: str, cost: int, options: dict[str, Any]
    ) -> httpx.Response:
        response = await self._http.request(method, path, **options)
        self._learn_quota(response)
        status = response.status_code
        if status == 429 and self.events_quota is not None and cost > self.events_quota:
            return response  # more events than the whole window holds: waiting cannot help
        if status in (429, 503) or (status in (502, 504) and not _is_json(response)):
            raise _RetryLaterError(_describe(response), _retry_after(response))
        return response

    def _learn_quota(self, response: httpx.Response) -> None:
        match = _EVENTS_QUOTA.search(response.headers.get("RateLimit-Policy", ""))
        if match:
            self.events_quota = int(match.group(1))

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryLaterError) and error.after is not None:
            # a little jitter, so that concurrent requests do not all return at once
            return error.after + wait_random(0, 0.5)(state)
        return self._backoff(state)

    def _give_up(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, httpx.TransportError):
            return state.attempt_number >= self.policy.connection_attempts
        return (state.seconds_since_start or 0.0) >= self.policy.wait_budget_seconds


def _batch_replies(response: httpx.Response, envelopes: list[dict[str, Any]]) -> list[Reply]:
    try:
        answers = [Answer.model_validate(item) for item in response.json()["results"]]
    except (ValueError, KeyError, TypeError, ValidationError):
        return [Reply.failed("the gateway's answer is not readable", 200)] * len(envelopes)
    if [answer.event_id for answer in answers] != [e["event_id"] for e in envelopes]:
        return [
            Reply.failed(
                f"the gateway answered {len(answers)} events for {len(envelopes)} sent, "
                "not in order",
                200,
            )
        ] * len(envelopes)
    return [Reply(answer, 200) for answer in answers]


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower()


def _is_json(response: httpx.Response) -> bool:
    return _media_type(response) in ("application/json", PROBLEM_JSON)


def _is_answer(response: httpx.Response) -> bool:
    """An event's answer (any status), rather than a problem document about the request."""
    return _media_type(response) == "application/json"


def _describe(response: httpx.Response) -> str:
    """`429 throttled: source x is over its rate limit …`, or `502 Bad Gateway`."""
    if _is_json(response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("code"):
            return f"{response.status_code} {body['code']}: {body.get('detail') or ''}".strip()
    return f"{response.status_code} {response.reason_phrase}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
