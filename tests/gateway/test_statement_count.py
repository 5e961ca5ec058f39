"""A batch's SQL statements do not grow with its size: the engine loads what the events name
with a fixed number of queries and writes each table with one statement (`executemany`), so
500 events cost the statements of 10, give or take what the driver splits into pages.

Counted at the database driver (every statement and `executemany` SQLAlchemy sends), around
the engine called directly (no HTTP), on SQLite and PostgreSQL, for new products, changed
products and unchanged ones, under both error policies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from catalog_gateway.db.engine import Database
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.results import EventStatus
from catalog_gateway.gateway.engine import ErrorPolicy, apply_events
from catalog_gateway.gateway.service import EventGateway
from tests.gateway.payloads import (
    course_payload,
    envelope,
    instructor_payload,
    occurred,
    run_payload,
)

SMALL, LARGE = 10, 500
# insertmanyvalues pages, and PostgreSQL's and SQLite's limits on parameters per statement, may
# split one executemany of a large batch into a few.
PAGES = 6


def product(n: int, title: str = "Data Science for Leaders") -> dict[str, Any]:
    """Product `n`: its own course, 2 instructors and 2 runs with a seat each."""
    people = [f"in-{n}-a", f"in-{n}-b"]
    return {
        "course": course_payload(external_id=f"xe-{n}", number=f"DS{n}", title=title),
        "instructors": [instructor_payload(person) for person in people],
        "course_runs": [
            run_payload(0, external_id=f"v-{n}-1", staff=people),
            run_payload(1, external_id=f"v-{n}-2", staff=people[:1]),
        ],
    }


def batch(first: int, count: int, tag: str, hours: float, title: str) -> list[Envelope]:
    return [
        Envelope.model_validate(
            envelope(f"{tag}-{n}", product(n, title), occurred_at=occurred(hours))
        )
        for n in range(first, first + count)
    ]


@contextmanager
def statements(database: Database) -> Iterator[Counter[str]]:
    """The statements sent to the database in the block, by their first word."""
    seen: Counter[str] = Counter()

    def count(*args: Any) -> None:
        seen[str(args[2]).split()[0].upper()] += 1

    event.listen(database.writer, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.writer, "before_cursor_execute", count)


def applied(
    gateway: EventGateway, envelopes: list[Envelope], policy: ErrorPolicy, expected: EventStatus
) -> None:
    profile = gateway.profile_by_slug("exec-ed")
    answers = [handled.answer for handled in apply_events(gateway, profile, envelopes, policy)]
    assert {answer.status for answer in answers} == {expected}, answers[0]


@pytest.mark.parametrize("policy", list(ErrorPolicy))
def test_a_batch_of_500_sends_the_statements_of_a_batch_of_10(
    service: EventGateway, database: Database, policy: ErrorPolicy
) -> None:
    gateway = service
    applied(gateway, batch(10_000, 1, "warm", 0, "Warm"), policy, EventStatus.APPLIED)
    counts: dict[str, dict[int, Counter[str]]] = {}
    for scenario, hours, title, expected in (
        ("new", 1, "Data Science for Leaders", EventStatus.APPLIED),
        ("changed", 2, "Data Science for Managers", EventStatus.APPLIED),
        ("unchanged", 3, "Data Science for Managers", EventStatus.UNCHANGED),
    ):
        counts[scenario] = {}
        for first, size in ((0, SMALL), (1000, LARGE)):
            envelopes = batch(first, size, f"{scenario}-{size}", hours, title)
            with statements(database) as seen:
                applied(gateway, envelopes, policy, expected)
            counts[scenario][size] = seen

    for scenario, by_size in counts.items():
        small, large = by_size[SMALL], by_size[LARGE]
        assert small["SELECT"] == large["SELECT"], (scenario, small, large)
        assert 0 <= sum(large.values()) - sum(small.values()) <= PAGES, (scenario, small, large)
