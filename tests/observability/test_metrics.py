"""`GET /metrics` after known traffic: every counter holds exactly what was sent (issue 7).

Each test counts in a fresh registry (see conftest), through the HTTP app: applied, rejected,
dry-run and replayed events, a batch, reads, 429s (answered before routing and by the route's
own throttle), and the downstream calls and breaker of the ecommerce connector.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from catalog_gateway.api.problems import ProblemError
from catalog_gateway.api.protection import WriteGate
from catalog_gateway.connectors.breaker import Breaker
from catalog_gateway.connectors.ecommerce import EcommerceClient, EcommerceError
from catalog_gateway.db.engine import Database
from catalog_gateway.observability.metrics import throttled_by_source
from tests.factories import bearer
from tests.observability.conftest import ClientFactory, Samples, current_samples, scrape
from tests.protection.conftest import add_source, fresh_window, instructor_event, post_event

EVENTS = "catalog_gateway_events_total"
STEP_COUNT = "catalog_gateway_step_duration_seconds_count"
STEP_SUM = "catalog_gateway_step_duration_seconds_sum"
THROTTLED = "catalog_gateway_throttled_total"
HTTP_COUNT = "catalog_gateway_http_request_duration_seconds_count"
IN_FLIGHT = "catalog_gateway_in_flight_requests"
DOWNSTREAM = "catalog_gateway_downstream_calls_total"
BREAKER = "catalog_gateway_breaker_state"


def _invalid_instructor(event_id: str) -> dict[str, Any]:
    """An instructor without the required given name: rejected at `validate`."""
    return instructor_event(event_id, "in-bad", given_name="")


def _timed_steps(answers: list[dict[str, Any]]) -> dict[str, int]:
    """How many steps of each name ran (ok or failed) in answers that were not replays."""
    counts: dict[str, int] = {}
    for answer in answers:
        if answer["replayed"]:
            continue
        for step in answer["steps"]:
            if step["status"] in ("ok", "failed"):
                counts[step["name"]] = counts.get(step["name"], 0) + 1
    return counts


def test_scrape_after_known_traffic_shows_exact_counts(
    make_client: ClientFactory, database: Database
) -> None:
    key = add_source(database, "exec-ed")
    client = make_client()

    applied = post_event(client, instructor_event("e-1", "in-1"), key)
    replayed = post_event(client, instructor_event("e-1", "in-1"), key)
    rejected = post_event(client, _invalid_instructor("e-2"), key)
    planned = post_event(client, instructor_event("e-3", "in-3"), key, dry_run="true")
    batch = client.post(
        "/api/v1/events/batch",
        json={"events": [instructor_event("e-4", "in-4"), _invalid_instructor("e-5")]},
        headers=bearer(key),
    )
    courses = client.get("/api/v1/courses")
    missing = client.get("/api/v1/courses/MITx+NOPE")

    assert [r.status_code for r in (applied, replayed, rejected, planned, batch)] == [
        200,
        200,
        422,
        200,
        200,
    ]
    assert (courses.status_code, missing.status_code) == (200, 404)
    answers = [r.json() for r in (applied, replayed, rejected, planned)] + batch.json()["results"]
    assert [a["status"] for a in answers] == [
        "applied",
        "applied",
        "rejected",
        "planned",
        "applied",
        "rejected",
    ]
    assert replayed.json()["replayed"] is True

    samples = scrape(client)

    labels = {"source": "exec-ed", "event_type": "instructor.upsert"}
    assert samples(EVENTS, **labels, status="applied") == 3  # a replayed answer counts too
    assert samples(EVENTS, **labels, status="rejected") == 2
    assert samples(EVENTS, **labels, status="planned") == 1
    assert sum(samples(EVENTS, **ls) for ls in samples.labels_of(EVENTS)) == 6
    # each step that ran is timed once; the replay ran none, skipped and planned steps no time
    expected_steps = _timed_steps(answers)
    assert expected_steps["validate"] == 5
    assert expected_steps["instructor.upsert"] == 2
    assert {
        labels["step"]: samples(STEP_COUNT, **labels) for labels in samples.labels_of(STEP_COUNT)
    } == expected_steps
    assert samples(STEP_SUM, step="instructor.upsert") > 0
    # HTTP: by route template, never the raw path
    assert samples(HTTP_COUNT, method="POST", route="/api/v1/events", status="200") == 3
    assert samples(HTTP_COUNT, method="POST", route="/api/v1/events", status="422") == 1
    assert samples(HTTP_COUNT, method="POST", route="/api/v1/events/batch", status="200") == 1
    assert samples(HTTP_COUNT, method="GET", route="/api/v1/courses", status="200") == 1
    assert samples(HTTP_COUNT, method="GET", route="/api/v1/courses/{key}", status="404") == 1
    assert "/api/v1/courses/MITx+NOPE" not in {ls["route"] for ls in samples.labels_of(HTTP_COUNT)}
    # nothing in flight once answered (the scrape does not count itself)
    assert samples(IN_FLIGHT, kind="write") == 0
    assert samples(IN_FLIGHT, kind="read") == 0
    assert samples.labels_of(THROTTLED) == []


def test_a_429_answered_before_routing_is_counted_for_its_source(
    make_client: ClientFactory, database: Database
) -> None:
    key = add_source(database, "flood", rate="1/second", burst=1)
    client = make_client()

    fresh_window()
    first = post_event(client, instructor_event("f-1", "in-1"), key)
    # the process knows the key now: the next one is refused before routing
    second = post_event(client, instructor_event("f-2", "in-2"), key)

    assert (first.status_code, second.status_code) == (200, 429)
    samples = scrape(client)
    assert samples(THROTTLED, source="flood", policy="events") == 1
    assert samples(HTTP_COUNT, method="POST", route="/api/v1/events", status="429") == 1
    assert samples(EVENTS, source="flood", event_type="instructor.upsert", status="applied") == 1
    assert throttled_by_source() == {"flood": 1.0}


def test_a_429_answered_by_the_route_is_counted_for_its_source(
    make_client: ClientFactory, database: Database
) -> None:
    key = add_source(database, "flood", rate="1/second", burst=1)
    # without the key cache, every request is throttled by the route's own dependency
    client = make_client(auth_cache_seconds=0)

    fresh_window()
    answers = [post_event(client, instructor_event(f"f-{n}", f"in-{n}"), key) for n in range(3)]

    assert [a.status_code for a in answers] == [200, 429, 429]
    assert scrape(client)(THROTTLED, source="flood", policy="events") == 2
    assert throttled_by_source() == {"flood": 2.0}


def test_throttled_reads_are_counted_by_source_or_dash_without_one(
    make_client: ClientFactory, database: Database
) -> None:
    key = add_source(database, "exec-ed")
    client = make_client(read_rate="1/second", read_burst=1)

    fresh_window()
    anonymous = [client.get("/api/v1/courses").status_code for _ in range(2)]
    keyed = [client.get("/api/v1/courses", headers=bearer(key)).status_code for _ in range(2)]

    assert (anonymous, keyed) == ([200, 429], [200, 429])
    samples = scrape(client)
    assert samples(THROTTLED, source="-", policy="reads") == 1
    assert samples(THROTTLED, source="exec-ed", policy="reads") == 1
    assert throttled_by_source() == {}  # event requests only


def test_a_shed_event_request_is_counted_by_route() -> None:
    gate = WriteGate(capacity=1, wait_seconds=0.01)

    async def second_while_first_holds_the_slot() -> int:
        async with gate.admit("/api/v1/events"):
            try:
                async with gate.admit("/api/v1/events"):
                    return 200
            except ProblemError as problem:
                return problem.status

    assert asyncio.run(second_while_first_holds_the_slot()) == 503
    samples = current_samples()
    assert samples("catalog_gateway_shed_total", route="/api/v1/events") == 1


class ScriptedEcommerce:
    """An ecommerce that answers each publication with the next scripted outcome."""

    def __init__(self, *outcomes: int | type[httpx.TransportError]) -> None:
        self.outcomes = list(outcomes)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, int):
            return httpx.Response(outcome, json={"products": []})
        raise outcome("scripted", request=request)


@pytest.fixture
def publish() -> Iterator[Any]:
    """Publish one run through an `EcommerceClient` over a scripted transport."""
    clients: list[EcommerceClient] = []

    def run(script: ScriptedEcommerce, *, fail_max: int = 5) -> Breaker:
        breaker = Breaker("ecommerce", fail_max=fail_max, reset_timeout=30)
        client = EcommerceClient(
            "http://ecommerce.test",
            token="secret-token",
            connect_timeout=1,
            read_timeout=1,
            breaker=breaker,
            transport=httpx.MockTransport(script),
        )
        clients.append(client)
        with contextlib.suppress(EcommerceError):
            client.publish_course_run({"id": "course-v1:MITx+DS101+1T2027"}, budget=5)
        return breaker

    yield run
    for client in clients:
        client.close()


def test_each_downstream_call_is_counted_by_outcome(publish: Any) -> None:
    breaker = publish(ScriptedEcommerce(httpx.ReadTimeout, httpx.ConnectError, 503, 200))

    samples = current_samples()
    assert samples(DOWNSTREAM, system="ecommerce", outcome="timeout") == 1
    assert samples(DOWNSTREAM, system="ecommerce", outcome="connection_error") == 1
    assert samples(DOWNSTREAM, system="ecommerce", outcome="503") == 1
    assert samples(DOWNSTREAM, system="ecommerce", outcome="200") == 1
    assert breaker.state == "closed"
    assert samples(BREAKER, system="ecommerce") == 0


def test_breaker_state_is_shown_as_it_changes(publish: Any) -> None:
    breaker = publish(ScriptedEcommerce(500), fail_max=2)

    assert breaker.state == "open"
    samples = current_samples()
    assert samples(DOWNSTREAM, system="ecommerce", outcome="500") == 2  # then it fails fast
    assert samples(BREAKER, system="ecommerce") == 1
    breaker.breaker.half_open()
    assert current_samples()(BREAKER, system="ecommerce") == 0.5
    breaker.breaker.close()
    assert current_samples()(BREAKER, system="ecommerce") == 0


def test_metrics_are_open_by_default(make_client: ClientFactory) -> None:
    assert make_client().get("/metrics").status_code == 200


def test_metrics_require_an_admin_key_when_configured(
    make_client: ClientFactory, database: Database, admin_key: str
) -> None:
    source_key = add_source(database, "exec-ed")
    client = make_client(metrics_require_key=True)

    anonymous = client.get("/metrics")
    as_source = client.get("/metrics", headers=bearer(source_key))
    as_admin = client.get("/metrics", headers=bearer(admin_key))

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert (as_source.status_code, as_source.json()["code"]) == (403, "forbidden")
    assert as_admin.status_code == 200
    assert isinstance(scrape(client, **bearer(admin_key)), Samples)
