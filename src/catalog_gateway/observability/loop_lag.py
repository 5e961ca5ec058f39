"""Event-loop lag: how late the process's event loop runs what is due.

Every request, a 429 as much as a read, is first looked at by the event loop. When threads doing
catalog work hold the GIL, or a coroutine blocks, the loop runs late and every answer waits
that long. A task sleeps `interval` seconds again and again and records how much later than
asked it woke up: the metric `catalog_gateway_event_loop_lag_seconds`, and the last minute's
samples for the console.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from catalog_gateway.observability.metrics import observe_loop_lag

INTERVAL_SECONDS = 0.025
WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class LagSummary:
    """The lag of the last minute, in milliseconds."""

    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class LoopLagMonitor:
    """Samples the running loop's lag while `run` runs (a task of the app's lifespan)."""

    def __init__(
        self,
        interval: float = INTERVAL_SECONDS,
        window: float = WINDOW_SECONDS,
        *,
        each_tick: Callable[[], None] | None = None,
    ) -> None:
        self.interval = interval
        self.window = window
        self.each_tick = each_tick  # also run on every sample (the GC pauses' recording)
        self._recent: deque[tuple[float, float]] = deque()  # (monotonic time, lag seconds)

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self.interval)
            woke = time.monotonic()
            self.record(woke, max(0.0, woke - asked - self.interval))
            if self.each_tick is not None:
                self.each_tick()

    def record(self, at: float, lag: float) -> None:
        """Keep one sample (and forget those older than the window)."""
        observe_loop_lag(lag)
        self._recent.append((at, lag))
        while self._recent and self._recent[0][0] < at - self.window:
            self._recent.popleft()

    def summary(self) -> LagSummary | None:
        """The last minute's lag, or None before the first sample."""
        lags = sorted(lag for _at, lag in self._recent)
        if not lags:
            return None

        def at(share: float) -> float:
            return round(lags[min(len(lags) - 1, int(share * len(lags)))] * 1000, 2)

        return LagSummary(len(lags), at(0.5), at(0.99), round(lags[-1] * 1000, 2))
