"""The garbage collector's pauses, and keeping them short.

Python's cyclic garbage collector stops every thread of the process while it runs, the event
loop's included: each request waits for it. A collection of the oldest generation walks every
object the process holds, and a server process holds a couple of hundred thousand objects from
its start alone (modules, SQLAlchemy's metadata, pydantic's validators, the transformers,
reference data). Measured on `make bench-quick`'s server: 48 such collections of 100 to 340 ms,
which made the event loop's lag and the 429s' p99 hundreds of milliseconds.

So once the app has started, what it built is moved out of the collector's sight (`gc.freeze`:
those objects live as long as the process anyway); later collections walk only what the
requests made. Each collection's pause is measured (`catalog_gateway_gc_pause_seconds`).
"""

from __future__ import annotations

import gc
import time
from collections import deque
from typing import Any

import structlog

from catalog_gateway.observability.metrics import observe_gc_pause

_log = structlog.get_logger(__name__)
_MAX_NOTED = 10_000  # pauses noted between two drains (25 ms apart): far more than happen


def unsettle(freeze: bool) -> None:
    """Give what `settle` exempted back to the collector (an app stopping in a process that
    goes on: the next app's freeze must not keep this one's garbage for good)."""
    if freeze:
        gc.unfreeze()


def settle(freeze: bool) -> int:
    """Collect what starting left behind, then (`freeze`) exempt every object alive from later
    collections. How many objects are exempt."""
    if not freeze:
        return gc.get_freeze_count()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    _log.info("heap_settled", objects_exempt_from_gc=frozen)
    return frozen


class GcPauses:
    """Times every garbage collection while installed (`gc.callbacks`).

    The callback only notes each pause: a collection may start anywhere, even inside
    prometheus-client while it holds its (non-reentrant) lock of multiprocess mode, so recording
    into a metric from there could deadlock the thread. `drain` records what was noted (the
    event-loop lag monitor calls it on each of its ticks)."""

    def __init__(self) -> None:
        self._started = 0.0
        self._noted: deque[tuple[int, float]] = deque(maxlen=_MAX_NOTED)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self._noted.append((int(info["generation"]), time.perf_counter() - self._started))

    def drain(self) -> None:
        """Record the pauses noted since the last call."""
        while self._noted:
            generation, seconds = self._noted.popleft()
            observe_gc_pause(generation, seconds)

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
        self.drain()
