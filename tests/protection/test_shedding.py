"""Load shedding over a real server (issue 5 point 2, DESIGN §4: 503 `overloaded`).

With `max_in_flight_writes=1` and `overload_wait_seconds=0.05`, while one slow event is being
applied (its instructor step is held until the test lets it go), a second event waits at most
0.05 s and is answered 503 `overloaded` with `Retry-After`, nothing changed; catalog reads during
the slow write are answered: reads never queue behind writes.

The app runs under a real uvicorn server in a thread and the requests come from real threads.
The slow event is held, not slept, so the requests overlap by construction however busy the
machine is (a timed sleep lost that race on a loaded machine running tests in parallel).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from catalog_gateway.api.problems import ProblemError
from catalog_gateway.api.protection import WriteGate
from catalog_gateway.catalog.models import Course
from catalog_gateway.db.engine import Database
from catalog_gateway.gateway import plans
from tests.factories import bearer
from tests.gateway.conftest import served
from tests.gateway.payloads import COURSE_KEY, course_payload, envelope, product_payload
from tests.observability.conftest import current_samples
from tests.protection.conftest import (
    AppFactory,
    add_source,
    assert_problem,
    count,
    logged_event_ids,
    policy_of,
)

HOLD_SECONDS = 30.0  # a safety net: each test releases the slow step itself


class SlowStep:
    """`upsert_instructor` that signals when it is first called, and that first time waits
    until `release()` before doing its work."""

    def __init__(self, original: Callable[..., Any]) -> None:
        self.original = original
        self.started = threading.Event()
        self.released = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.started.is_set():
            self.started.set()
            self.released.wait(timeout=HOLD_SECONDS)
        return self.original(*args, **kwargs)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def slow_step(monkeypatch: pytest.MonkeyPatch, pool: ThreadPoolExecutor) -> Iterator[SlowStep]:
    step = SlowStep(plans.upsert_instructor)
    monkeypatch.setattr(plans, "upsert_instructor", step)
    yield step
    # A test that failed early leaves the step held: let it go before the pool (set up first,
    # so torn down after) waits for the slow request.
    step.release()


@pytest.fixture
def key(database: Database) -> str:
    return add_source(database, "exec-ed")


@pytest.fixture
def live_url(make_app: AppFactory) -> Iterator[str]:
    app = make_app(max_in_flight_writes=1, overload_wait_seconds=0.05)
    with served(app) as url:
        yield url


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


def _post(url: str, event: dict[str, Any], key: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=30) as http:
        return http.post("/api/v1/events", json=event, headers=bearer(key))


def _start_slow_event(
    pool: ThreadPoolExecutor, url: str, key: str, slow_step: SlowStep
) -> Future[httpx.Response]:
    """The complete product (its first instructor step sleeps), in flight when this returns."""
    slow = pool.submit(_post, url, envelope("slow-1", product_payload()), key)
    assert slow_step.started.wait(timeout=10), "the slow event never reached its first step"
    return slow


def test_event_past_capacity_is_shed_with_503_and_changes_nothing(
    live_url: str,
    key: str,
    slow_step: SlowStep,
    pool: ThreadPoolExecutor,
    database: Database,
) -> None:
    slow = _start_slow_event(pool, live_url, key, slow_step)
    other_course = course_payload(external_id="xe-8001", number="ML200", title="Machine Learning")

    began = time.monotonic()
    shed = _post(live_url, envelope("second-1", {"course": other_course}, "course.upsert"), key)
    waited = time.monotonic() - began
    still_in_flight = not slow.done()

    assert still_in_flight, "the slow event finished first: the requests did not overlap"
    body = assert_problem(shed, 503, "overloaded")
    assert "nothing was changed" in body["detail"]
    assert int(shed.headers["Retry-After"]) >= 1
    assert waited < 0.5, f"the shed request waited {waited:.2f} s (limit 0.05 s)"
    # it was counted against the source's quota, and says so like every answer to a source
    assert policy_of(shed)["name"] == "events"

    slow_step.release()
    done = slow.result(timeout=30)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "applied"
    assert "second-1" not in logged_event_ids(database)
    assert count(database, Course) == 1
    with httpx.Client(base_url=live_url) as http:
        assert http.get("/api/v1/courses/MITx+ML200").status_code == 404
        assert http.get(f"/api/v1/courses/{COURSE_KEY}").status_code == 200


def test_the_slot_is_free_again_after_the_slow_event(
    live_url: str, key: str, slow_step: SlowStep, pool: ThreadPoolExecutor
) -> None:
    slow = _start_slow_event(pool, live_url, key, slow_step)
    slow_step.release()
    assert slow.result(timeout=30).status_code == 200

    other_course = course_payload(external_id="xe-8001", number="ML200", title="Machine Learning")
    response = _post(live_url, envelope("after-1", {"course": other_course}, "course.upsert"), key)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


def test_shed_batch_is_503_too(
    live_url: str, key: str, slow_step: SlowStep, pool: ThreadPoolExecutor, database: Database
) -> None:
    slow = _start_slow_event(pool, live_url, key, slow_step)
    other_course = course_payload(external_id="xe-8001", number="ML200", title="Machine Learning")

    with httpx.Client(base_url=live_url, timeout=30) as http:
        shed = http.post(
            "/api/v1/events/batch",
            json={"events": [envelope("batch-1", {"course": other_course}, "course.upsert")]},
            headers=bearer(key),
        )
    in_flight = not slow.done()

    assert in_flight
    assert_problem(shed, 503, "overloaded")
    assert int(shed.headers["Retry-After"]) >= 1
    slow_step.release()
    assert slow.result(timeout=30).status_code == 200
    assert "batch-1" not in logged_event_ids(database)


def test_reads_do_not_wait_behind_writes(
    live_url: str, key: str, slow_step: SlowStep, pool: ThreadPoolExecutor
) -> None:
    """The write is held until every read is answered: a read that queued behind it would only
    be answered once the hold ran out, after the write (or not at all, within the timeout)."""
    slow = _start_slow_event(pool, live_url, key, slow_step)

    answered = []
    with httpx.Client(base_url=live_url, timeout=HOLD_SECONDS / 2) as http:
        for path in ("/api/v1/courses", "/api/v1/organizations", "/api/v1/events"):
            answered.append((path, http.get(path, headers=bearer(key)).status_code))
    in_flight = not slow.done()

    assert in_flight, "the slow event finished first: a read waited for it"
    assert answered == [
        ("/api/v1/courses", 200),
        ("/api/v1/organizations", 200),
        ("/api/v1/events", 200),
    ]
    slow_step.release()
    assert slow.result(timeout=30).status_code == 200


def test_without_any_wait_a_free_slot_admits_and_a_full_gate_sheds_at_once() -> None:
    gate = WriteGate(capacity=1, wait_seconds=0)

    async def scenario() -> tuple[bool, int]:
        async with gate.admit("/api/v1/events"):
            admitted = True
            try:
                async with gate.admit("/api/v1/events"):
                    pass
            except ProblemError as refused:
                return admitted, refused.status
        return admitted, 200

    assert asyncio.run(scenario()) == (True, 503)


def test_an_event_admitted_while_the_writer_is_busy_waits_in_the_lane_and_is_applied(
    make_app: AppFactory, key: str, slow_step: SlowStep, pool: ThreadPoolExecutor
) -> None:
    """Within capacity, an event that arrives while a writer applies another is not shed: it
    is prepared and queued in the writer lane, and committed once a writer is free (on SQLite,
    after the slow one; on PostgreSQL, by the second writer)."""
    app = make_app(max_in_flight_writes=4, overload_wait_seconds=0.05)
    with served(app) as url:
        slow = _start_slow_event(pool, url, key, slow_step)
        other = course_payload(external_id="xe-8001", number="ML200", title="Machine Learning")
        queued = pool.submit(
            _post, url, envelope("queued-1", {"course": other}, "course.upsert"), key
        )
        # Admitted beside the held one: in flight with it (queued behind it, on SQLite), or
        # already applied by the second writer (PostgreSQL).
        deadline = time.monotonic() + 10
        while _writes_in_flight() < 2 and not queued.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        overlapped = (_writes_in_flight() == 2 or queued.done()) and not slow.done()
        slow_step.release()

        answered = queued.result(timeout=30)
        slow_answer = slow.result(timeout=30)

    assert overlapped, "the second event was not in flight while the slow one was held"

    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "applied"
    assert slow_answer.status_code == 200, slow_answer.text
    assert slow_answer.json()["status"] == "applied"


def _writes_in_flight() -> float:
    """Event requests this process is answering now (the in-flight gauge)."""
    return current_samples()("catalog_gateway_in_flight_requests", kind="write")
