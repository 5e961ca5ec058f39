"""The writer lane: where a process's event writes queue, to be committed in groups.

Requests that apply events hand their prepared events (`engine.EventSet`, screened and
transformed) to the lane. Its writer threads — one on SQLite, whose single writer connection
serializes writes anyway; a few on PostgreSQL, where the per-product advisory locks keep two
writers off one product — each take what is queued, up to `max_group_events` events, and commit
it with `engine.commit_together`: the events of several requests of one source share one
transaction (group commit), so a transaction's fixed costs (BEGIN, the event-log and catalog
reads, COMMIT and its flush) are paid once for the group instead of once per request. Each
request then gets its share back on the event loop.

How many requests may wait here is bounded before they come: `api.protection.WriteGate` (a
full lane answers 503 `overloaded` after `overload_wait_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from catalog_gateway.gateway.engine import Committed, EventSet, commit_together
from catalog_gateway.observability.metrics import observe_group_commit

log = logging.getLogger(__name__)

Outcome = Committed | BaseException


@dataclass(slots=True)
class _Job:
    """One request's prepared events, and how to hand their share back."""

    events: EventSet
    deliver: Callable[[Outcome], None]

    @property
    def size(self) -> int:
        return max(1, len(self.events.events))


class WriterLane:
    """A queue of prepared event sets and the writer threads that drain it."""

    def __init__(self, *, writers: int, max_group_events: int) -> None:
        self.writers = writers
        self.max_group_events = max_group_events
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the writer threads (once; `commit` starts them if nobody did)."""
        with self._lock:
            if self._threads:
                return
            self._threads = [
                threading.Thread(target=self._drain, name=f"writer-{n}", daemon=True)
                for n in range(self.writers)
            ]
            for thread in self._threads:
                thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the writers."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout)

    async def commit(self, events: EventSet) -> Committed:
        """Queue `events` and wait until the transaction that holds them has ended."""
        if not self._threads:
            self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Committed] = loop.create_future()

        def deliver(outcome: Outcome) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, outcome)

        self._queue.put(_Job(events, deliver))
        return await future

    def _drain(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            group, stopping = [job], False
            size = job.size
            while size < self.max_group_events:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
                size += more.size
            self._commit(group, size)
            if stopping:
                return

    @staticmethod
    def _commit(group: list[_Job], size: int) -> None:
        observe_group_commit(len(group), size)
        try:
            shares = commit_together([job.events for job in group])
        except BaseException as error:  # a bug outside any transaction: nobody may hang on it
            log.exception("group commit of %d requests failed", len(group))
            for job in group:
                job.deliver(error)
            return
        for job, share in zip(group, shares, strict=True):
            job.deliver(share)


def _settle(future: asyncio.Future[Committed], outcome: Outcome) -> None:
    if future.done():  # the request was cancelled: its events were committed all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
