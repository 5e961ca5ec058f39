"""The writer lane (`gateway.lane`): what is queued while the writer is busy is committed
together, one transaction per source, and every request gets exactly its own answers back.

The lane's threads are started only once everything of a test is queued, so what the first
writer takes is known: the whole queue, in one group.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import event, func, select

from catalog_gateway.catalog.models import Course
from catalog_gateway.db.engine import Database
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import EventStatus
from catalog_gateway.gateway.engine import ErrorPolicy, EventSet, prepare_events
from catalog_gateway.gateway.intake import EventIntake
from catalog_gateway.gateway.lane import WriterLane
from catalog_gateway.gateway.service import EventGateway, Handled
from catalog_gateway.observability.metrics import use_registry
from catalog_gateway.settings import Settings, prepare_threads
from tests.gateway.payloads import course_payload, envelope, instructor_payload, product_payload


@pytest.fixture
def registry() -> Iterator[CollectorRegistry]:
    registry = CollectorRegistry()
    use_registry(registry)
    yield registry
    use_registry(None)


@pytest.fixture
def commits(database: Database) -> Iterator[list[int]]:
    """One item per transaction the writer engine committed during the test."""
    seen: list[int] = []

    def count(_connection: Any) -> None:
        seen.append(1)

    event.listen(database.writer, "commit", count)
    yield seen
    event.remove(database.writer, "commit", count)


def product(n: int) -> dict[str, Any]:
    payload = product_payload(external_id=f"xe-{n}", number=f"DS{n}", title=f"Course {n}")
    for run in payload["course_runs"]:
        run["external_id"] = f"{run['external_id']}-{n}"
    return payload


def prepared(
    service: EventGateway,
    slug: str,
    *events: dict[str, Any],
    policy: ErrorPolicy = ErrorPolicy.INDEPENDENT,
) -> EventSet:
    envelopes = [Envelope.model_validate(item) for item in events]
    return prepare_events(service, service.profile_by_slug(slug), envelopes, policy)


def statuses(handled: list[Handled]) -> list[tuple[str, bool]]:
    return [(h.answer.status.value, h.replayed) for h in handled]


async def through_lane(lane: WriterLane, sets: list[EventSet]) -> list[list[Handled]]:
    """Queue every set, then start the writer: it takes them all in one group."""
    intake = EventIntake(cpu_workers=1, writers=1, max_group_events=lane.max_group_events)
    intake.lane = lane
    waiting = [asyncio.ensure_future(intake.apply(events)) for events in sets]
    await asyncio.sleep(0)  # each request queues its events
    lane.start()
    try:
        return list(await asyncio.gather(*waiting))
    finally:
        intake.close()


def group_sizes(registry: CollectorRegistry) -> tuple[float | None, float | None]:
    requests = registry.get_sample_value("catalog_gateway_group_commit_requests_sum")
    events = registry.get_sample_value("catalog_gateway_group_commit_events_sum")
    return requests, events


def test_requests_queued_together_are_committed_in_one_transaction(
    service: EventGateway, database: Database, commits: list[int], registry: CollectorRegistry
) -> None:
    sets = [prepared(service, "exec-ed", envelope(f"ev-{n}", product(n))) for n in range(8)]

    answers = asyncio.run(through_lane(WriterLane(writers=1, max_group_events=100), sets))

    assert [statuses(handled) for handled in answers] == [[("applied", False)]] * 8
    assert [h.answer.event_id for (h,) in answers] == [f"ev-{n}" for n in range(8)]
    assert len(commits) == 1
    assert group_sizes(registry) == (8.0, 8.0)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Course)) == 8
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 8


def test_a_group_is_cut_at_its_event_limit(
    service: EventGateway, commits: list[int], registry: CollectorRegistry
) -> None:
    sets = [prepared(service, "exec-ed", envelope(f"ev-{n}", product(n))) for n in range(5)]

    answers = asyncio.run(through_lane(WriterLane(writers=1, max_group_events=2), sets))

    assert [statuses(handled) for handled in answers] == [[("applied", False)]] * 5
    assert len(commits) == 3  # 2 + 2 + 1
    assert registry.get_sample_value("catalog_gateway_group_commit_requests_count") == 3.0


def test_each_source_of_a_group_has_its_own_transaction_and_its_own_answers(
    service: EventGateway, commits: list[int]
) -> None:
    sets = [
        prepared(service, "exec-ed", envelope("ee-1", product(1))),
        prepared(
            service,
            "bootcamps",
            envelope("bc-1", {"instructor": instructor_payload()}, "instructor.upsert"),
        ),
        prepared(service, "exec-ed", envelope("ee-2", product(2))),
    ]

    answers = asyncio.run(through_lane(WriterLane(writers=1, max_group_events=100), sets))

    assert [[(h.answer.source, h.answer.event_id) for h in handled] for handled in answers] == [
        [("exec-ed", "ee-1")],
        [("bootcamps", "bc-1")],
        [("exec-ed", "ee-2")],
    ]
    assert all(h.answer.status is EventStatus.APPLIED for handled in answers for h in handled)
    assert len(commits) == 2


def test_a_refused_event_of_a_group_costs_only_its_own_request(
    service: EventGateway, database: Database
) -> None:
    bad = course_payload(external_id="xe-bad", number="BAD1", title="")
    sets = [
        prepared(service, "exec-ed", envelope("ok-1", product(1))),
        prepared(service, "exec-ed", envelope("bad", {"course": bad}, "course.upsert")),
        prepared(service, "exec-ed", envelope("ok-2", product(2))),
    ]

    answers = asyncio.run(through_lane(WriterLane(writers=1, max_group_events=100), sets))

    assert [statuses(handled) for handled in answers] == [
        [("applied", False)],
        [("rejected", False)],
        [("applied", False)],
    ]
    with database.read() as session:
        keys = set(session.scalars(select(Course.key)))
    assert keys == {"MITx+DS1", "MITx+DS2"}


def test_an_all_or_nothing_batch_in_a_group_keeps_its_own_transaction(
    service: EventGateway, database: Database, commits: list[int]
) -> None:
    bad = course_payload(external_id="xe-bad", number="BAD1", title="")
    sets = [
        prepared(service, "exec-ed", envelope("alone-1", product(1))),
        prepared(
            service,
            "exec-ed",
            envelope("batch-1", product(2)),
            envelope("batch-bad", {"course": bad}, "course.upsert"),
            policy=ErrorPolicy.ALL_OR_NOTHING,
        ),
        prepared(service, "exec-ed", envelope("alone-2", product(3))),
    ]

    answers = asyncio.run(through_lane(WriterLane(writers=1, max_group_events=100), sets))

    assert [statuses(handled) for handled in answers] == [
        [("applied", False)],
        [("rejected", False), ("rejected", False)],
        [("applied", False)],
    ]
    assert answers[1][0].answer.errors[0].code == "batch_aborted"
    assert len(commits) == 1  # the two independent requests; the batch wrote nothing
    with database.read() as session:
        keys = set(session.scalars(select(Course.key)))
    assert keys == {"MITx+DS1", "MITx+DS3"}


def test_one_event_id_sent_by_two_requests_of_a_group_is_applied_once(
    service: EventGateway, database: Database
) -> None:
    sets = [prepared(service, "exec-ed", envelope("same", product(1))) for _ in range(3)]

    answers = asyncio.run(through_lane(WriterLane(writers=1, max_group_events=100), sets))

    assert [statuses(handled) for handled in answers] == [
        [("applied", False)],
        [("applied", True)],
        [("applied", True)],
    ]
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 1
        assert session.scalar(select(func.count()).select_from(Course)) == 1


def test_closing_the_lane_commits_what_is_queued(service: EventGateway, database: Database) -> None:
    lane = WriterLane(writers=1, max_group_events=100)

    async def queue_then_close() -> list[list[Handled]]:
        intake = EventIntake(cpu_workers=1, writers=1, max_group_events=100)
        intake.lane = lane
        sets = [prepared(service, "exec-ed", envelope(f"ev-{n}", product(n))) for n in range(3)]
        waiting = [asyncio.ensure_future(intake.apply(events)) for events in sets]
        await asyncio.sleep(0)
        lane.start()
        await asyncio.to_thread(lane.close)
        return list(await asyncio.gather(*waiting))

    answers = asyncio.run(queue_then_close())

    assert [statuses(handled) for handled in answers] == [[("applied", False)]] * 3
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Course)) == 3


class _BrokenSet(EventSet):
    """Events whose commit hits a bug (an exception no failure handling expects)."""

    def commit(self) -> None:
        raise RuntimeError("a bug")


def broken_set(service: EventGateway) -> EventSet:
    broken = _BrokenSet(
        service,
        service.profile_by_slug("exec-ed"),
        [Envelope.model_validate(envelope("b", product(1)))],
        ErrorPolicy.ALL_OR_NOTHING,
    )
    broken.prepare()
    return broken


async def outcomes(lane: WriterLane, sets: list[EventSet]) -> list[BaseException | list[Handled]]:
    """Each set's answers, or the error its request would raise (all queued in one group)."""
    intake = EventIntake(cpu_workers=1, writers=1, max_group_events=lane.max_group_events)
    intake.lane = lane
    waiting = [asyncio.ensure_future(intake.apply(events)) for events in sets]
    await asyncio.sleep(0)
    lane.start()
    try:
        return list(await asyncio.gather(*waiting, return_exceptions=True))
    finally:
        intake.close()


def test_a_bug_is_raised_to_its_request_not_swallowed(service: EventGateway) -> None:
    lane = WriterLane(writers=1, max_group_events=100)

    (outcome,) = asyncio.run(outcomes(lane, [broken_set(service)]))

    assert isinstance(outcome, RuntimeError)
    assert str(outcome) == "a bug"


def test_a_bug_in_one_set_of_a_group_leaves_the_others_answered(
    service: EventGateway, database: Database
) -> None:
    sound = prepared(service, "exec-ed", envelope("ok", product(2)))
    lane = WriterLane(writers=1, max_group_events=100)

    failed, answered = asyncio.run(outcomes(lane, [broken_set(service), sound]))

    assert isinstance(failed, RuntimeError)
    assert isinstance(answered, list)
    assert statuses(answered) == [("applied", False)]
    with database.read() as session:
        assert list(session.scalars(select(Course.key))) == ["MITx+DS2"]


def test_the_prepare_pool_shares_the_cores_among_the_processes() -> None:
    cores = os.cpu_count() or 1

    assert prepare_threads(Settings(workers=1)) == cores
    assert prepare_threads(Settings(workers=2)) == max(1, cores // 2)
    assert prepare_threads(Settings(workers=cores * 4)) == 1
    assert prepare_threads(Settings(workers=2, cpu_workers=3)) == 3


def test_an_intake_closed_by_one_lifespan_serves_the_next(service: EventGateway) -> None:
    """An app may be served, stopped and served again (test clients do so)."""
    intake = EventIntake(cpu_workers=1, writers=1, max_group_events=100)

    async def send(event_id: str, n: int) -> list[Handled]:
        events = await intake.prepare(
            prepare_events,
            service,
            service.profile_by_slug("exec-ed"),
            [Envelope.model_validate(envelope(event_id, product(n)))],
        )
        return await intake.apply(events)

    first = asyncio.run(send("first", 1))
    intake.close()
    second = asyncio.run(send("second", 2))
    intake.close()

    assert statuses(first) == statuses(second) == [("applied", False)]
