"""The ecommerce publication API (Open edX style): `POST {url}/publication/`.

One call publishes a course run's paid seats (and the course entitlement) and answers the SKUs.
Retries with exponential backoff and jitter on connection errors, timeouts, 429 and 5xx
(honouring `Retry-After`), inside a time budget given per call; never on other 4xx. Every
attempt passes through the downstream's circuit breaker.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pybreaker
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from catalog_gateway.connectors.breaker import Breaker
from catalog_gateway.connectors.breaker_storage import FallbackBreakerStorage, namespace_for
from catalog_gateway.observability.metrics import count_downstream_call
from catalog_gateway.settings import Settings

DETAIL_LIMIT = 500
_MIN_ATTEMPT_SECONDS = 0.05


class EcommerceError(Exception):
    """A publication that did not succeed; `detail` is the downstream's own words, truncated."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


class EcommerceRejectedError(EcommerceError):
    """Ecommerce refused the data (a 4xx other than 429): sending it again will not help."""

    retryable = False


class EcommerceUnavailableError(EcommerceError):
    """Ecommerce answered 429 or 5xx, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class EcommerceTimeoutError(EcommerceError):
    """Ecommerce did not answer in time."""


class DownstreamOpenError(EcommerceError):
    """The breaker is open: ecommerce was failing, so the call was not even tried."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("ecommerce is failing; calls are paused", detail=None)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class PublishedProduct:
    """A product as ecommerce stored it."""

    product_class: str
    certificate_type: str | None
    partner_sku: str | None


class EcommerceClient:
    """Publishes course runs to one ecommerce system."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        connect_timeout: float,
        read_timeout: float,
        breaker: Breaker,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.breaker = breaker
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool (and the breaker's Redis connections)."""
        self._http.close()
        self.breaker.close()

    def publish_course_run(self, body: dict[str, Any], *, budget: float) -> list[PublishedProduct]:
        """Publish one run; retried within `budget` seconds. Raises an `EcommerceError`."""
        if self.breaker.is_open():
            raise DownstreamOpenError(self.breaker.retry_after())
        deadline = time.monotonic() + budget
        retrying = Retrying(
            retry=retry_if_exception_type((EcommerceUnavailableError, EcommerceTimeoutError)),
            stop=_stop_at(deadline, self.breaker),
            wait=_wait_honouring_retry_after(deadline),
            reraise=True,
        )
        last_failure: EcommerceError | None = None
        for attempt in retrying:
            with attempt:
                try:
                    return self._attempt(body, deadline)
                except DownstreamOpenError:
                    # The breaker opened during this event: report what made it open.
                    raise last_failure or DownstreamOpenError(self.breaker.retry_after()) from None
                except EcommerceError as failure:
                    last_failure = failure
                    raise
        raise AssertionError("unreachable")

    def _attempt(self, body: dict[str, Any], deadline: float) -> list[PublishedProduct]:
        try:
            result: list[PublishedProduct] = self.breaker.breaker.call(self._post, body, deadline)
        except pybreaker.CircuitBreakerError as error:
            raise DownstreamOpenError(self.breaker.retry_after()) from error
        return result

    def _post(self, body: dict[str, Any], deadline: float) -> list[PublishedProduct]:
        remaining = max(_MIN_ATTEMPT_SECONDS, deadline - time.monotonic())
        timeout = self._http.timeout
        capped = httpx.Timeout(
            min(timeout.read or remaining, remaining),
            connect=min(timeout.connect or remaining, remaining),
        )
        try:
            response = self._http.post("/publication/", json=body, timeout=capped)
        except httpx.TimeoutException as error:
            count_downstream_call("ecommerce", "timeout")
            raise EcommerceTimeoutError(
                "ecommerce did not answer in time", detail=type(error).__name__
            ) from error
        except httpx.TransportError as error:
            count_downstream_call("ecommerce", "connection_error")
            raise EcommerceUnavailableError(
                "ecommerce could not be reached",
                detail=_truncate(str(error) or type(error).__name__),
            ) from error
        count_downstream_call("ecommerce", str(response.status_code))
        if response.status_code == 429 or response.status_code >= 500:
            raise EcommerceUnavailableError(
                f"ecommerce answered HTTP {response.status_code}",
                status=response.status_code,
                detail=_truncate(response.text),
                retry_after=_retry_after(response),
            )
        if response.status_code >= 400:
            raise EcommerceRejectedError(
                f"ecommerce refused the publication (HTTP {response.status_code})",
                status=response.status_code,
                detail=_truncate(response.text),
            )
        return _products(response)


def _stop_at(deadline: float, breaker: Breaker) -> Any:
    """Stop when the budget is spent, the breaker opened, or the downstream asks to wait past
    the budget."""

    def stop(state: RetryCallState) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= _MIN_ATTEMPT_SECONDS or breaker.is_open():
            return True
        error = state.outcome.exception() if state.outcome else None
        return (
            isinstance(error, EcommerceUnavailableError)
            and error.retry_after is not None
            and error.retry_after >= remaining
        )

    return stop


def _wait_honouring_retry_after(deadline: float) -> Any:
    """Exponential backoff with jitter, or the downstream's `Retry-After` when it gave one."""
    backoff = wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        delay = backoff(state)
        if isinstance(error, EcommerceUnavailableError) and error.retry_after is not None:
            delay = error.retry_after
        return max(0.0, min(delay, deadline - time.monotonic()))

    return wait


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _products(response: httpx.Response) -> list[PublishedProduct]:
    try:
        data = response.json()
        products = data["products"]
        return [
            PublishedProduct(
                product_class=str(product["product_class"]),
                certificate_type=_certificate_type(product),
                partner_sku=product.get("partner_sku"),
            )
            for product in products
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise EcommerceUnavailableError(
            "ecommerce answered with a body this gateway does not understand",
            status=response.status_code,
            detail=_truncate(response.text),
        ) from error


def _certificate_type(product: dict[str, Any]) -> str | None:
    for attribute in product.get("attribute_values") or []:
        if attribute.get("name") == "certificate_type":
            return str(attribute.get("value"))
    value = product.get("certificate_type")
    return str(value) if value is not None else None


def _truncate(text: str) -> str:
    text = text.strip()
    return text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT] + "…"


def ecommerce_client_from_settings(settings: Settings) -> EcommerceClient | None:
    """The ecommerce client the settings configure, or None. With a Redis URL, its breaker is
    shared by every process calling the same ecommerce system."""
    if not settings.ecommerce_url:
        return None
    token = settings.ecommerce_token.get_secret_value() if settings.ecommerce_token else None
    storage = (
        FallbackBreakerStorage(
            settings.redis_url, namespace_for("ecommerce", settings.ecommerce_url)
        )
        if settings.redis_url
        else None
    )
    return EcommerceClient(
        settings.ecommerce_url,
        token=token,
        connect_timeout=settings.ecommerce_connect_timeout,
        read_timeout=settings.ecommerce_read_timeout,
        breaker=Breaker(
            "ecommerce",
            fail_max=settings.ecommerce_breaker_failures,
            reset_timeout=settings.ecommerce_breaker_reset_seconds,
            exclude=(EcommerceRejectedError,),
            storage=storage,
        ),
    )
