"""A circuit breaker per downstream system (pybreaker), and how long until it probes again.

Its state is kept in a pybreaker storage: the process's memory by default, or Redis (see
`breaker_storage`), where every server process shares one breaker. Whatever the storage, what
this class answers (`state`, `is_open`, `retry_after`) is read from it, never remembered on
the side, so a breaker another process opened is open here too, with the same `Retry-After`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pybreaker

from catalog_gateway.connectors.breaker_storage import FallbackBreakerStorage
from catalog_gateway.observability.metrics import set_breaker_state


class Breaker(pybreaker.CircuitBreakerListener):
    """After `fail_max` consecutive failures, calls fail fast for `reset_timeout` seconds; then
    one probe is let through (half-open) and its success closes the breaker again."""

    def __init__(
        self,
        name: str,
        *,
        fail_max: int,
        reset_timeout: float,
        exclude: tuple[type[Exception], ...] = (),
        storage: pybreaker.CircuitBreakerStorage | None = None,
    ) -> None:
        """`exclude`: errors that show the downstream is up (it answered, refusing the data);
        they count as successes, not failures. `storage`: where the state is kept (default:
        this process's memory)."""
        self.name = name
        self.storage = storage or pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            name=name,
            listeners=[self],
            exclude=list(exclude),
            state_storage=self.storage,
            throw_new_error_on_trip=False,
        )
        self._shown: str | None = None
        self._show(self.state)

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`, as the storage holds it now."""
        state = str(self.breaker.current_state)
        if state != self._shown:  # changed by another process: the metric follows
            self._show(state)
        return state

    def is_open(self) -> bool:
        """True while calls would fail fast (open, and the reset timeout has not passed)."""
        return self.retry_after() > 0

    def retry_after(self) -> int:
        """Whole seconds until the breaker lets a probe through (at least 1 while open).

        From the stored `opened_at`, which pybreaker's own open state also reads to decide
        when to let the probe through: both agree, in every process sharing the storage.
        """
        if self.state != pybreaker.STATE_OPEN:
            return 0
        opened_at = self.storage.opened_at
        if opened_at is None:  # pybreaker lets the next call through as a probe
            return 0
        waited = (datetime.now(UTC) - opened_at).total_seconds()
        remaining = self.breaker.reset_timeout - waited
        return max(1, math.ceil(remaining)) if remaining > 0 else 0

    def close(self) -> None:
        """Close the storage's connections, if it has any."""
        if isinstance(self.storage, FallbackBreakerStorage):
            self.storage.close()

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        """pybreaker listener: show the new state."""
        self._show(new_state.name)

    def _show(self, state: str) -> None:
        self._shown = state
        set_breaker_state(self.name, state)
