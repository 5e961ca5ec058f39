"""A circuit breaker per downstream system (pybreaker), and how long until it probes again."""

from __future__ import annotations

import threading
import time
from typing import Any

import pybreaker

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
    ) -> None:
        """`exclude`: errors that show the downstream is up (it answered, refusing the data);
        they count as successes, not failures."""
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            name=name,
            listeners=[self],
            exclude=list(exclude),
            throw_new_error_on_trip=False,
        )
        set_breaker_state(name, self.state)

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`."""
        return str(self.breaker.current_state)

    def is_open(self) -> bool:
        """True while calls would fail fast (open, and the reset timeout has not passed)."""
        return self.state == "open" and self.retry_after() > 0

    def retry_after(self) -> int:
        """Whole seconds until the breaker lets a probe through (at least 1 while open)."""
        with self._lock:
            if self._opened_at is None:
                return 0
            remaining = self.breaker.reset_timeout - (time.monotonic() - self._opened_at)
        return max(1, int(remaining + 0.999)) if remaining > 0 else 0

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        """pybreaker listener: remember when the breaker opened, and show its state."""
        with self._lock:
            self._opened_at = time.monotonic() if new_state.name == "open" else None
        set_breaker_state(cb.name, new_state.name)
