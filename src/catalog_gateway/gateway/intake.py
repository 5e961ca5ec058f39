"""How a server process runs event requests without starving its event loop.

The event loop answers every request first — reads, 429s, health — so it must never wait
behind catalog work. Each event request therefore goes through three places:

1. **the prepare pool** (`cpu_workers` threads, no more than the cores): the source's profile,
   parsing a batch's envelopes, screening and transforming; dry runs whole. CPU work, and
   bounded: however many requests arrive, at most that many threads hold the GIL for them;
2. **the writer lane** (`gateway.lane`): validation, planning and the catalog writes, committed
   in groups;
3. **the event loop again** to answer; the external steps (ecommerce) of the events that need
   them run on the default thread pool, since they wait on the network.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from catalog_gateway.gateway.engine import EventSet
from catalog_gateway.gateway.lane import WriterLane
from catalog_gateway.gateway.service import Handled

P = ParamSpec("P")
T = TypeVar("T")


class EventIntake:
    """The prepare pool and the writer lane of one process."""

    def __init__(self, *, cpu_workers: int, writers: int, max_group_events: int) -> None:
        self.cpu_workers = cpu_workers
        self._cpu: ThreadPoolExecutor | None = None
        self.lane = WriterLane(writers=writers, max_group_events=max_group_events)

    async def prepare(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `work` on the prepare pool (started on first use, again after `close`: an app
        may be served, stopped and served again)."""
        if self._cpu is None:
            self._cpu = ThreadPoolExecutor(self.cpu_workers, thread_name_prefix="prepare")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._cpu, functools.partial(work, *args, **kwargs))

    async def apply(self, events: EventSet) -> list[Handled]:
        """Commit prepared events in the writer lane, finish them, and answer each."""
        committed = await self.lane.commit(events)
        if committed.calls_out:
            return await asyncio.to_thread(committed.finish)
        return committed.finish()  # nothing left but to collect the answers

    def close(self) -> None:
        """Commit what is queued, then stop the threads."""
        self.lane.close()
        cpu, self._cpu = self._cpu, None
        if cpu is not None:
            cpu.shutdown(wait=True)
