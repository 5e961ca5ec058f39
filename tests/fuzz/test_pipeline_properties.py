"""Property tests of the event pipeline over HTTP (issue 5, point 5).

For any sequence of valid events of one source — complete products with varying titles,
prices and run sets, instructors, courses, runs and retirements — interleaved with retries (an
earlier event sent again verbatim, alone or in a batch) and duplicates (an earlier payload
under a new event id, later):

- no answer is a server error;
- a retry answers `Idempotent-Replayed: true` with exactly the body of the first answer;
- the catalog (courses, runs, seats with prices, instructors) and the event log equal those
  of a fresh database to which each distinct event was sent once, in order.

Each example runs on two fresh copies of a migrated SQLite database (SQLite only: the property
is about the pipeline, and the backends are covered by the gateway tests).
"""

from __future__ import annotations

import copy
import itertools
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import upgrade
from catalog_gateway.settings import Settings
from tests.factories import bearer, make_organization, make_source
from tests.gateway.payloads import (
    course_payload,
    envelope,
    instructor_payload,
    occurred,
    run_payload,
    seat_payload,
)

MAX_EXAMPLES = 25
SOURCE = "exec-ed"
COURSE_EXTERNAL_ID = "xe-7001"
INSTRUCTOR_IDS = ("in-1", "in-2", "in-3")
RUN_IDS = ("variant-1", "variant-2", "variant-3", "variant-4")
# Run starts: two in term 1T2027 (their keys then differ by a letter suffix), others apart.
# Go-live dates are far in the future or absent, so a run's status does not depend on the clock.
RUN_STARTS = ("2027-02-01", "2027-03-15", "2027-06-01", "2027-09-06", "2028-01-10")
GO_LIVE_DATES = (None, "2035-01-01T00:00:00Z")
# Event types of new events after the first (which is always a product); products twice as
# likely as the others.
NEW_EVENT_TYPES = (
    "product.upsert",
    "product.upsert",
    "instructor.upsert",
    "course.upsert",
    "course_run.upsert",
    "product.retire",
)
# Fields of the read representations that differ between two databases holding the same data.
VOLATILE = frozenset({"uuid", "modified", "duration_ms", "received_at", "updated_at"})

titles = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters=" -:&'"),
    min_size=1,
    max_size=40,
).filter(lambda title: title.strip() != "")
prices = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2).map(lambda d: f"{d:.2f}")
names = st.sampled_from(["Ada", "Grace", "Alan", "Katherine", "Édouard", "Zoë", "Łukasz"])


@st.composite
def runs(draw: st.DrawFn, external_id: str) -> dict[str, Any]:
    """A valid paid run with one seat, identified by `external_id`."""
    start = draw(st.sampled_from(RUN_STARTS))
    weeks = draw(st.integers(min_value=1, max_value=12))
    year, month, day = (int(part) for part in start.split("-"))
    end_month = month + 2 if month <= 10 else 12
    return run_payload(
        0,
        external_id=external_id,
        start=f"{start}T00:00:00Z",
        end=f"{year}-{end_month:02d}-{min(day, 28):02d}T23:59:59Z",
        enrollment_start=None,
        enrollment_end=None,
        go_live_date=draw(st.sampled_from(GO_LIVE_DATES)),
        weeks_to_complete=weeks,
        staff=[],
        seats=[seat_payload(draw(prices))],
    )


@st.composite
def run_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1 to 3 runs with distinct external ids."""
    ids = draw(st.lists(st.sampled_from(RUN_IDS), min_size=1, max_size=3, unique=True))
    return [draw(runs(external_id)) for external_id in ids]


@st.composite
def instructors(draw: st.DrawFn, external_id: str | None = None) -> dict[str, Any]:
    external_id = external_id or draw(st.sampled_from(INSTRUCTOR_IDS))
    return instructor_payload(
        external_id,
        given_name=draw(names),
        bio=draw(st.sampled_from([None, "<p>Teaches.</p>", "<p>Writes <b>books</b>.</p>"])),
    )


@st.composite
def courses(draw: st.DrawFn) -> dict[str, Any]:
    entitlement = {
        "seat_type": "paid-executive-education",
        "price": draw(prices),
        "currency": "USD",
    }
    return course_payload(title=draw(titles), entitlement=entitlement)


@st.composite
def products(draw: st.DrawFn) -> dict[str, Any]:
    """A complete product: the course, 0 to 3 instructors, 1 to 3 runs staffed by them."""
    people = draw(st.lists(st.sampled_from(INSTRUCTOR_IDS), max_size=3, unique=True))
    course_runs = draw(run_sets())
    for run in course_runs:
        run["staff"] = draw(st.lists(st.sampled_from(people), unique=True)) if people else []
    return {
        "course": draw(courses()),
        "instructors": [draw(instructors(person)) for person in people],
        "course_runs": course_runs,
    }


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid event type and payload (the course exists: the first event is a product)."""
    event_type = draw(st.sampled_from(NEW_EVENT_TYPES))
    if event_type == "product.upsert":
        return event_type, draw(products())
    if event_type == "instructor.upsert":
        return event_type, {"instructor": draw(instructors())}
    if event_type == "product.retire":
        return event_type, {"course": {"external_id": COURSE_EXTERNAL_ID}}
    if event_type == "course.upsert":
        return event_type, {"course": draw(courses())}
    run = draw(runs(draw(st.sampled_from(RUN_IDS))))
    return event_type, {"course": {"external_id": COURSE_EXTERNAL_ID}, "run": run}


@dataclass
class Scenario:
    """What is sent, in order: new events, retries and batches of retries."""

    distinct: list[dict[str, Any]] = field(default_factory=list)
    sends: list[tuple[str, list[int]]] = field(default_factory=list)

    def __repr__(self) -> str:
        """Every event in full (to reproduce a failure by hand), then what was sent."""
        lines = [f"{i}: {json.dumps(event)}" for i, event in enumerate(self.distinct)]
        return "Scenario(\n  " + "\n  ".join(lines) + f"\n  sends={self.sends}\n)"


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """2 to 10 sends; the first is a new product, each later one a new event, a duplicate of
    an earlier payload under a new id, a retry of an earlier event, or a batch of retries."""
    scenario = Scenario()

    def new_event(event_type: str, payload: dict[str, Any]) -> None:
        index = len(scenario.distinct)
        scenario.distinct.append(
            envelope(f"evt-{index:03d}", payload, event_type, occurred_at=occurred(index))
        )
        scenario.sends.append(("send", [index]))

    new_event("product.upsert", draw(products()))
    for _ in range(draw(st.integers(min_value=1, max_value=9))):
        earlier = st.integers(min_value=0, max_value=len(scenario.distinct) - 1)
        kind = draw(st.sampled_from(["new", "new", "retry", "retry", "duplicate", "batch"]))
        if kind == "new":
            new_event(*draw(payloads()))
        elif kind == "duplicate":
            original = scenario.distinct[draw(earlier)]
            new_event(original["event_type"], copy.deepcopy(original["payload"]))
        elif kind == "retry":
            scenario.sends.append(("send", [draw(earlier)]))
        else:
            indexes = draw(st.lists(earlier, min_size=1, max_size=3, unique=True))
            scenario.sends.append(("batch", indexes))
    return scenario


# --- a fresh service per run --------------------------------------------------------------


@dataclass
class Service:
    client: TestClient
    key: str

    def send(self, event: dict[str, Any]) -> httpx.Response:
        return self.client.post("/api/v1/events", json=event, headers=bearer(self.key))

    def batch(self, events: list[dict[str, Any]]) -> httpx.Response:
        body = {"events": events, "error_policy": "independent"}
        return self.client.post("/api/v1/events/batch", json=body, headers=bearer(self.key))

    def pages(self, path: str) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 500}
        while True:
            response = self.client.get(path, params=params, headers=bearer(self.key))
            assert response.status_code == 200, response.text
            page = response.json()
            results.extend(page["results"])
            if page["next"] is None:
                return results
            params["cursor"] = page["next"]


ServiceFactory = Callable[[], AbstractContextManager[Service]]


@pytest.fixture(scope="module")
def fresh_service(tmp_path_factory: pytest.TempPathFactory) -> ServiceFactory:
    """Services on fresh copies of one migrated SQLite file, with source `exec-ed`."""
    directory = tmp_path_factory.mktemp("pipeline")
    template = directory / "template.db"
    database = Database(f"sqlite:///{template}")
    upgrade(database)
    database.dispose()
    counter = itertools.count()

    @contextmanager
    def service() -> Iterator[Service]:
        path = directory / f"copy-{next(counter)}.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
        database = Database(url)
        with database.unit_of_work() as session:
            make_organization(session, "MITx")
            _, issued = make_source(
                session, SOURCE, rate="100000/second", burst=100_000, codes={"MIT": "MITx"}
            )
        app = create_app(Settings(database_url=url), database)
        try:
            with TestClient(app) as client:
                yield Service(client, issued.api_key)
        finally:
            database.dispose()
            for leftover in directory.glob(f"{path.name}*"):
                leftover.unlink()

    return service


# --- comparing catalogs -------------------------------------------------------------------


def canonical(value: Any) -> Any:
    """`value` without the fields that identify rows or times of this database."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def catalog_of(service: Service, instructor_uuids: set[str]) -> dict[str, Any]:
    """Courses (runs and seats embedded), runs, instructors and the event log, canonicalised."""
    instructors = []
    for instructor_uuid in sorted(instructor_uuids):
        response = service.client.get(f"/api/v1/instructors/{instructor_uuid}")
        assert response.status_code == 200, response.text
        instructors.append(response.json())
    log = [
        (record["event_id"], record["status"], record["attempts"])
        for record in service.pages("/api/v1/events")
    ]
    return {
        "courses": sorted(canonical(service.pages("/api/v1/courses")), key=lambda c: c["key"]),
        "course_runs": sorted(
            canonical(service.pages("/api/v1/course-runs")), key=lambda r: r["key"]
        ),
        "instructors": sorted(canonical(instructors), key=lambda i: i["external_id"]),
        "event_log": sorted(log),
    }


def _answered(response: httpx.Response, what: str) -> dict[str, Any]:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


# --- the properties -----------------------------------------------------------------------


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_retries_and_duplicates_leave_the_catalog_of_each_distinct_event_applied_once(
    scenario: Scenario, fresh_service: ServiceFactory
) -> None:
    first: dict[str, dict[str, Any]] = {}
    first_status: dict[str, int] = {}
    instructor_uuids: set[str] = set()
    with fresh_service() as service:
        for kind, indexes in scenario.sends:
            events = [scenario.distinct[i] for i in indexes]
            if kind == "batch":
                response = service.batch(events)
                body = _answered(response, f"batch of {[e['event_id'] for e in events]}")
                assert response.status_code == 200, response.text
                for event, answer in zip(events, body["results"], strict=True):
                    assert answer == {**first[event["event_id"]], "replayed": True}, event[
                        "event_id"
                    ]
                continue
            (event,) = events
            response = service.send(event)
            body = _answered(response, event["event_id"])
            if event["event_id"] in first:
                assert response.headers.get("Idempotent-Replayed") == "true", event["event_id"]
                assert response.status_code == first_status[event["event_id"]]
                assert body == {**first[event["event_id"]], "replayed": True}, event["event_id"]
            else:
                assert "Idempotent-Replayed" not in response.headers, event["event_id"]
                assert response.status_code == 200, response.text  # every event is valid
                first[event["event_id"]] = body
                first_status[event["event_id"]] = response.status_code
                instructor_uuids.update(body["products"]["instructors"])
        actual = catalog_of(service, instructor_uuids)

    expected_uuids: set[str] = set()
    expected_statuses = {}
    with fresh_service() as service:
        for event in scenario.distinct:
            response = service.send(event)
            body = _answered(response, event["event_id"])
            assert response.status_code == 200, response.text
            expected_statuses[event["event_id"]] = body["status"]
            expected_uuids.update(body["products"]["instructors"])
        expected = catalog_of(service, expected_uuids)

    assert {event_id: body["status"] for event_id, body in first.items()} == expected_statuses
    assert actual == expected
