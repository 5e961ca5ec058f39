"""Send events in batches, a few batches at once, until every event has a final reply.

Batches hold events in file order: at most 100 (the gateway takes 500, but smaller batches
cost no throughput, keep requests short, make the progress bar move and leave less to send
again after an interruption), at most a byte budget well under the gateway's 16 MiB batch
limit, and at most what the source's rate-limit window holds (learnt from the answers).

An event answered `retryable` (a failed external step, or the same event still in progress
elsewhere) is sent again a few times with backoff. No event is ever dropped: each ends with
the gateway's answer, or a reply saying why there is none.

Dry runs go in batches too, to `POST /api/v1/events/batch?dry_run=true`, which plans each
event without writing anything.

Given lanes (`ingest.lanes`), each lane is sent by a worker of its own, in file order, so that
concurrent batches never reorder a product's events; without, batches are taken in file order
by whichever worker is free.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from catalog_gateway.ingest.answers import Reply
from catalog_gateway.ingest.client import GatewayClient, GatewayError, SplitNeeded
from catalog_gateway.ingest.identity import Event

BATCH_MAX_EVENTS = 100  # the gateway's own limit is 500 (CATALOG_GATEWAY_BATCH_MAX_EVENTS)
BATCH_BYTE_BUDGET = 8 * 1024 * 1024  # half the gateway's 16 MiB: room for a lower setting
ANSWER_ATTEMPTS = 4  # sends of an event answered `retryable`, the first included
DEFAULT_CONCURRENCY = 4

Progress = Callable[[int], None]


class SourceMismatchError(GatewayError):
    """An answer names another source than the one the run is for."""


@dataclass(slots=True)
class Delivery:
    """One event and the last reply it got."""

    event: Event
    size: int = 0
    reply: Reply | None = None
    batch: int | None = None  # which batch carried it (batches may run concurrently)

    def __post_init__(self) -> None:
        self.size = len(json.dumps(self.event.envelope()).encode())

    @property
    def unsettled(self) -> bool:
        """Not answered yet, or answered `retryable`."""
        return self.reply is None or self.reply.retryable


@dataclass(slots=True)
class Sender:
    """Delivers a run's events for one source."""

    client: GatewayClient
    source: str
    dry_run: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    progress: Progress = lambda _done: None
    aborted: str | None = field(default=None, init=False)  # why the run stopped early
    _batches: Iterator[int] = field(default_factory=itertools.count, init=False)

    async def send(
        self, events: list[Event], lanes: list[list[int]] | None = None
    ) -> list[Delivery]:
        """Every event with its final reply, in the order given. `lanes`: the events' indexes
        in lanes, each sent by one worker in order (default: one queue all workers share)."""
        deliveries = [Delivery(event) for event in events]
        if lanes is None:
            shared = deque(deliveries)
            queues = [shared] * max(1, min(self.concurrency, len(deliveries)))
        else:
            queues = [deque(deliveries[index] for index in lane) for lane in lanes]
        try:
            async with asyncio.TaskGroup() as workers:
                for queue in queues:
                    workers.create_task(self._work(queue))
        except* GatewayError as group:
            self.aborted = str(group.exceptions[0])
        for delivery in deliveries:
            if delivery.reply is None:
                delivery.reply = Reply.failed(f"no answer: {self.aborted}")
        return deliveries

    async def _work(self, queue: deque[Delivery]) -> None:
        while queue:
            chunk = self._take(queue)
            await self._settle(chunk)
            self.progress(len(chunk))

    def _take(self, queue: deque[Delivery]) -> list[Delivery]:
        """The next events in file order that fit one request."""
        limit = self._batch_limit()
        chunk = [queue.popleft()]
        size = chunk[0].size
        while queue and len(chunk) < limit and size + queue[0].size <= BATCH_BYTE_BUDGET:
            size += queue[0].size
            chunk.append(queue.popleft())
        batch = next(self._batches)
        for delivery in chunk:
            delivery.batch = batch
        return chunk

    def _batch_limit(self) -> int:
        quota = self.client.events_quota
        return min(BATCH_MAX_EVENTS, quota) if quota else BATCH_MAX_EVENTS

    async def _settle(self, chunk: list[Delivery]) -> None:
        """Send until every event of the chunk has a final reply (or the attempts are spent)."""
        retrying = AsyncRetrying(
            retry=retry_if_result(bool),  # some events are still unsettled
            stop=stop_after_attempt(ANSWER_ATTEMPTS),
            wait=wait_exponential(multiplier=1, max=10),
            retry_error_callback=_last_result,  # spent: their last (retryable) reply stands
        )
        await retrying(self._send_unsettled, chunk)

    async def _send_unsettled(self, chunk: list[Delivery]) -> list[Delivery]:
        pending = [delivery for delivery in chunk if delivery.unsettled]
        await self._deliver(pending)
        return [delivery for delivery in pending if delivery.unsettled]

    async def _deliver(self, deliveries: list[Delivery]) -> None:
        result = await self.client.post_batch(
            [d.event.envelope() for d in deliveries], dry_run=self.dry_run
        )
        if isinstance(result, SplitNeeded):
            await self._split(deliveries, result)
            return
        for delivery, reply in zip(deliveries, result, strict=True):
            self._record(delivery, reply)

    async def _split(self, deliveries: list[Delivery], split: SplitNeeded) -> None:
        if len(deliveries) == 1:
            self._record(deliveries[0], Reply.failed(f"the gateway refused it: {split.reason}"))
            return
        size = min(split.at_most or len(deliveries), (len(deliveries) + 1) // 2)
        for start in range(0, len(deliveries), size):
            await self._deliver(deliveries[start : start + size])

    def _record(self, delivery: Delivery, reply: Reply) -> None:
        if reply.answer is not None and reply.answer.source != self.source:
            raise SourceMismatchError(
                f"the gateway answered for source {reply.answer.source}, not {self.source}: "
                f"the key belongs to {reply.answer.source}"
            )
        delivery.reply = reply


def _last_result(state: RetryCallState) -> list[Delivery]:
    assert state.outcome is not None
    result: list[Delivery] = state.outcome.result()
    return result
