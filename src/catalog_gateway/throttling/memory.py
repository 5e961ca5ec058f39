"""`limits`' in-process storage, without a new thread every 10 ms under load.

`limits.storage.MemoryStorage` sweeps expired counters on a `threading.Timer` of 10 ms, which
the first hit after each sweep starts again. Under a flood of requests that is a new thread
every 10 ms, and starting a thread blocks its caller until the new thread has run: the caller
is the event loop (the throttle answers 429s there), which so waits for the GIL about a
hundred times a second (profiled under the bench's flood: a fifth of the loop's time).

Counters expire on read anyway (`MemoryStorage.get` drops an expired one), so the sweep only
frees the memory of clients that went quiet. Here it runs inline, in the call that comes after
`sweep_seconds` have passed, and no thread is ever started.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage


class InProcessStorage(MemoryStorage):
    """The in-memory storage of `memory://` limits, swept inline at most every
    `sweep_seconds`."""

    def __init__(self, sweep_seconds: float = 1.0) -> None:
        super().__init__()
        self.sweep_seconds = sweep_seconds
        # The base class started its first timer; it sweeps once, 10 ms from now, and is
        # never started again (see `_MemoryStorage__schedule_expiry`).
        self._next_sweep = time.monotonic() + self.sweep_seconds

    # The base class calls its private `__schedule_expiry` on every hit; this replaces it.
    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the name it replaces)
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.sweep_seconds
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
