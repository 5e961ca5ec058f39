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
from typing import Any

import structlog

from catalog_gateway.observability.metrics import observe_gc_pause

_log = structlog.get_logger(__name__)


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
    """Times every garbage collection while installed (`gc.callbacks`)."""

    def __init__(self) -> None:
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            observe_gc_pause(int(info["generation"]), time.perf_counter() - self._started)

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
