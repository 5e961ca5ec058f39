"""Per-source throttling over HTTP (issue 5 point 1, DESIGN §4 "Rate limits").

A source created with `--rate 5/second --burst 5` may send 5 events at once; the 6th in the same
second is 429 `throttled` (problem+json, `Retry-After`), refused before its body is read, and
nothing of it is written. Every answer to the source carries `RateLimit-Policy` and `RateLimit`
(structured fields). Batches count one per event. Reads have a limit of their own.

The in-process counters use wall-clock windows of one second, so each test first makes sure it
has most of a window ahead of it (`fresh_window`): the requests of one test are then counted in
one window, and the expected counts are exact.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.catalog.models import Course, Instructor
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.sources.service import update_source
from tests.factories import bearer
from tests.gateway.payloads import COURSE_KEY, envelope, product_payload
from tests.protection.conftest import (
    ClientFactory,
    add_source,
    assert_problem,
    count,
    fresh_window,
    instructor_event,
    logged_event_ids,
    policy_of,
    post_event,
    state_of,
)

EVENTS_POLICY = {"name": "events", "q": 5, "w": 1}


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """The service with default settings (in-process rate limits)."""
    return make_client()


@pytest.fixture
def limited(database: Database) -> str:
    """Source `exec-ed`, `--rate 5/second --burst 5`; its key."""
    return add_source(database, "exec-ed", rate="5/second", burst=5)


def _spend(client: TestClient, key: str, n: int, prefix: str = "spend") -> None:
    """Send `n` accepted instructor events."""
    for index in range(n):
        response = post_event(
            client, instructor_event(f"{prefix}-{index}", f"{prefix}-{index}"), key
        )
        assert response.status_code == 200, response.text


def test_sixth_immediate_event_is_429_with_retry_after_and_quota_headers(
    client: TestClient, limited: str
) -> None:
    fresh_window()
    for index in range(5):
        response = post_event(client, instructor_event(f"ok-{index}", f"in-{index}"), limited)
        assert response.status_code == 200, response.text
        assert policy_of(response) == EVENTS_POLICY
        assert state_of(response)["r"] == 4 - index

    response = post_event(client, instructor_event("sixth", "in-6"), limited)

    body = assert_problem(response, 429, "throttled")
    assert "exec-ed" in body["detail"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= EVENTS_POLICY["w"]
    assert response.headers["RateLimit-Policy"] == '"events";q=5;w=1'
    state = state_of(response)
    assert state["name"] == "events"
    assert state["r"] == 0
    assert 0 <= state["t"] <= retry_after


def test_after_retry_after_the_source_may_send_again(client: TestClient, limited: str) -> None:
    fresh_window()
    _spend(client, limited, 5)
    refused = post_event(client, instructor_event("late", "late"), limited)
    assert refused.status_code == 429, refused.text

    time.sleep(int(refused.headers["Retry-After"]) + 0.05)
    again = post_event(client, instructor_event("late", "late"), limited)

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "applied"


def test_every_answer_to_the_source_carries_the_headers_with_decreasing_remaining(
    client: TestClient, limited: str
) -> None:
    fresh_window()
    applied = post_event(client, instructor_event("e-1", "in-1"), limited)
    rejected = post_event(client, instructor_event("e-2", "in-2", given_name=""), limited)
    conflict = post_event(client, instructor_event("e-1", "in-1", given_name="Augusta"), limited)
    malformed = client.post(
        "/api/v1/events",
        content=b'{"event_id": "e-4", "event_type": ',
        headers=bearer(limited) | {"Content-Type": "application/json"},
    )
    dry_run = post_event(client, instructor_event("e-5", "in-5"), limited, dry_run="true")
    throttled = post_event(client, instructor_event("e-6", "in-6"), limited)

    assert [r.status_code for r in (applied, rejected, conflict, malformed, dry_run)] == [
        200,
        422,
        409,
        400,
        200,
    ]
    assert malformed.json()["code"] == "malformed_json"
    assert throttled.status_code == 429
    answers = [applied, rejected, conflict, malformed, dry_run, throttled]
    assert [policy_of(r) for r in answers] == [EVENTS_POLICY] * 6
    assert [state_of(r)["r"] for r in answers] == [4, 3, 2, 1, 0, 0]
    assert all(state_of(r)["name"] == "events" for r in answers)
    # only the refused one says when to come back
    assert ["Retry-After" in r.headers for r in answers] == [False] * 5 + [True]


def test_batch_answer_carries_the_headers(client: TestClient, limited: str) -> None:
    fresh_window()
    events = [instructor_event(f"b-{i}", f"in-{i}") for i in range(2)]

    response = client.post("/api/v1/events/batch", json={"events": events}, headers=bearer(limited))

    assert response.status_code == 200, response.text
    assert policy_of(response) == EVENTS_POLICY
    assert state_of(response)["r"] == 3


def test_throttled_event_writes_nothing(
    client: TestClient, limited: str, database: Database
) -> None:
    fresh_window()
    _spend(client, limited, 5)
    records = count(database, EventRecord)

    response = post_event(client, envelope("product-1", product_payload()), limited)

    assert_problem(response, 429, "throttled")
    assert count(database, EventRecord) == records
    assert "product-1" not in logged_event_ids(database)
    assert count(database, Course) == 0
    assert client.get(f"/api/v1/courses/{COURSE_KEY}").status_code == 404


def test_throttled_request_body_is_never_read(client: TestClient, limited: str) -> None:
    fresh_window()
    _spend(client, limited, 5)

    response = client.post(
        "/api/v1/events",
        content=b"this is not JSON at all {",
        headers=bearer(limited) | {"Content-Type": "application/json"},
    )

    # a parsed body would have been 400 malformed_json
    assert_problem(response, 429, "throttled")


def test_a_batch_counts_one_per_event(client: TestClient, limited: str, database: Database) -> None:
    fresh_window()
    first = [instructor_event(f"first-{i}", f"first-{i}") for i in range(4)]
    second = [instructor_event(f"second-{i}", f"second-{i}") for i in range(4)]

    accepted = client.post("/api/v1/events/batch", json={"events": first}, headers=bearer(limited))
    refused = client.post("/api/v1/events/batch", json={"events": second}, headers=bearer(limited))

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["summary"]["applied"] == 4
    assert state_of(accepted)["r"] == 1  # 4 of 5 spent by one request
    assert_problem(refused, 429, "throttled")
    assert int(refused.headers["Retry-After"]) >= 1
    assert state_of(refused)["r"] == 0
    logged = logged_event_ids(database)
    assert {f"first-{i}" for i in range(4)} <= logged
    assert not {f"second-{i}" for i in range(4)} & logged
    assert count(database, Instructor) == 4


def test_a_batch_larger_than_the_burst_is_throttled_and_writes_nothing(
    client: TestClient, limited: str, database: Database
) -> None:
    fresh_window()
    events = [instructor_event(f"big-{i}", f"big-{i}") for i in range(6)]

    response = client.post("/api/v1/events/batch", json={"events": events}, headers=bearer(limited))

    assert_problem(response, 429, "throttled")
    assert count(database, EventRecord) == 0
    assert count(database, Instructor) == 0


def test_sources_update_raising_the_rate_takes_effect_at_once_without_the_auth_cache(
    make_client: ClientFactory, limited: str, database: Database
) -> None:
    client = make_client(auth_cache_seconds=0)  # no cached rate/profile
    fresh_window()
    _spend(client, limited, 5)
    assert post_event(client, instructor_event("x-1", "x-1"), limited).status_code == 429

    with database.unit_of_work() as session:
        update_source(session, "exec-ed", rate="50/second", burst=50)
    response = post_event(client, instructor_event("x-1", "x-1"), limited)

    assert response.status_code == 200, response.text
    assert policy_of(response) == {"name": "events", "q": 50, "w": 1}
    assert state_of(response)["r"] == 49


def test_sources_update_lowering_the_rate_takes_effect_at_once_without_the_auth_cache(
    make_client: ClientFactory, database: Database
) -> None:
    client = make_client(auth_cache_seconds=0)  # no cached rate/profile
    key = add_source(database, "lowered", rate="50/second", burst=50)
    fresh_window()
    _spend(client, key, 2)

    with database.unit_of_work() as session:
        update_source(session, "lowered", rate="1/second", burst=1)
    first = post_event(client, instructor_event("after-1", "after-1"), key)
    second = post_event(client, instructor_event("after-2", "after-2"), key)

    assert first.status_code == 200, first.text
    assert policy_of(first) == {"name": "events", "q": 1, "w": 1}
    assert_problem(second, 429, "throttled")


def test_two_sources_are_throttled_independently(
    client: TestClient, limited: str, database: Database
) -> None:
    other = add_source(database, "bootcamps", rate="5/second", burst=5)
    fresh_window()
    _spend(client, limited, 5)
    assert post_event(client, instructor_event("a-6", "a-6"), limited).status_code == 429

    response = post_event(client, instructor_event("b-1", "b-1"), other)

    assert response.status_code == 200, response.text
    assert state_of(response)["r"] == 4
    # and exec-ed is still refused
    assert post_event(client, instructor_event("a-7", "a-7"), limited).status_code == 429


def test_reads_have_their_own_limit(
    make_client: ClientFactory, limited: str, database: Database
) -> None:
    client = make_client(read_rate="3/second", read_burst=3)
    fresh_window()
    reads = [client.get("/api/v1/courses", headers=bearer(limited)) for _ in range(3)]

    fourth = client.get("/api/v1/courses", headers=bearer(limited))
    event = post_event(client, instructor_event("while-reads-spent", "in-1"), limited)

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert [policy_of(r) for r in reads] == [{"name": "reads", "q": 3, "w": 1}] * 3
    assert [state_of(r)["r"] for r in reads] == [2, 1, 0]
    assert_problem(fourth, 429, "throttled")
    assert int(fourth.headers["Retry-After"]) >= 1
    assert state_of(fourth)["name"] == "reads"
    # the source's events are counted apart: its event quota is untouched by the reads
    assert event.status_code == 200, event.text
    assert policy_of(event) == EVENTS_POLICY
    assert state_of(event)["r"] == 4


def test_event_log_reads_are_throttled_as_reads(make_client: ClientFactory, limited: str) -> None:
    client = make_client(read_rate="3/second", read_burst=3)
    fresh_window()
    reads = [client.get("/api/v1/events", headers=bearer(limited)) for _ in range(3)]

    fourth = client.get("/api/v1/events", headers=bearer(limited))

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert_problem(fourth, 429, "throttled")
    assert state_of(fourth)["name"] == "reads"


def test_exhausted_events_do_not_block_reads(make_client: ClientFactory, limited: str) -> None:
    client = make_client(read_rate="3/second", read_burst=3)
    fresh_window()
    _spend(client, limited, 5)
    assert post_event(client, instructor_event("over", "over"), limited).status_code == 429

    courses = client.get("/api/v1/courses", headers=bearer(limited))
    anonymous = client.get("/api/v1/courses")

    assert courses.status_code == 200, courses.text
    assert policy_of(courses) == {"name": "reads", "q": 3, "w": 1}
    assert state_of(courses)["r"] == 2
    assert anonymous.status_code == 200, anonymous.text
