"""POST /api/v1/events/batch: dependency-first application, answers in request order."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
from sqlalchemy.exc import OperationalError

from catalog_gateway.catalog.models import Course, CourseRun, Degree, Instructor
from catalog_gateway.events.models import EventRecord
from tests.factories import bearer
from tests.gateway.conftest import PROBLEM_JSON, Api
from tests.gateway.payloads import (
    COURSE_KEY,
    GO_LIVE_RUN_0,
    RUN_KEYS,
    envelope,
    expected_run_status,
    instructor_payload,
    product_payload,
    run_payload,
)

AUTUMN_KEY = "course-v1:MITx+DS101+3T2027"


def autumn_run_event(event_id: str = "b-run") -> dict[str, Any]:
    """A run of xe-7001 taught by in-4: needs the product's course and in-4 to exist first."""
    run = run_payload(
        1,
        external_id="variant-autumn",
        start="2027-10-04T00:00:00Z",
        end="2027-11-29T23:59:59Z",
        enrollment_start=None,
        enrollment_end=None,
        staff=["in-4"],
    )
    return envelope(
        event_id, {"course": {"external_id": "xe-7001"}, "run": run}, "course_run.upsert"
    )


def reverse_order_events() -> list[dict[str, Any]]:
    """The run, then the product that creates its course, then the instructor it names."""
    return [
        autumn_run_event(),
        envelope("b-product", product_payload()),
        envelope("b-instructor", {"instructor": instructor_payload("in-4")}, "instructor.upsert"),
    ]


def degree_event(event_id: str, courses: list[str]) -> dict[str, Any]:
    degree = {
        "external_id": "deg-1",
        "marketing_slug": "masters-data-science",
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MIT",
        "courses": courses,
    }
    return envelope(event_id, {"degree": degree}, "degree.upsert")


def results_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_independent_batch_applies_dependencies_first_and_answers_in_request_order(
    api: Api,
) -> None:
    events = reverse_order_events()

    response = api.batch(events)

    results = results_of(response)
    assert [r["event_id"] for r in results] == ["b-run", "b-product", "b-instructor"]
    assert [r["status"] for r in results] == ["applied"] * 3, results
    summary = response.json()["summary"]
    assert summary["applied"] == 3
    assert sum(summary.values()) == 3
    course = api.course()
    assert course is not None
    runs = {run["key"]: run for run in course["course_runs"]}
    assert set(runs) == {*RUN_KEYS, AUTUMN_KEY}
    assert runs[AUTUMN_KEY]["staff"] == ["in-4"]
    assert [r["event_id"] for r in api.event_log()] == ["b-instructor", "b-product", "b-run"]


def test_independent_batch_rejects_an_invalid_event_and_applies_the_others(api: Api) -> None:
    events = reverse_order_events()
    invalid = product_payload(external_id="xe-7002", number="ML201", title="ML Strategy")
    invalid["course_runs"][0]["seats"][0]["currency"] = "usd"
    events.insert(1, envelope("b-invalid", invalid))

    response = api.batch(events)

    results = results_of(response)
    assert [(r["event_id"], r["status"]) for r in results] == [
        ("b-run", "applied"),
        ("b-invalid", "rejected"),
        ("b-product", "applied"),
        ("b-instructor", "applied"),
    ]
    assert [(e["code"], e["path"]) for e in results[1]["errors"]] == [
        ("invalid_currency", "/course_runs/0/seats/0/currency")
    ]
    summary = response.json()["summary"]
    assert (summary["applied"], summary["rejected"]) == (3, 1)
    assert api.course() is not None
    assert api.course("MITx+ML201") is None


def test_all_or_nothing_batch_with_an_invalid_event_writes_nothing(api: Api) -> None:
    events = [*reverse_order_events(), degree_event("b-degree", ["xe-7001", "xe-0000"])]

    response = api.batch(events, "all_or_nothing")

    results = results_of(response)
    assert [r["event_id"] for r in results] == ["b-run", "b-product", "b-instructor", "b-degree"]
    assert {r["status"] for r in results} == {"rejected"}
    culprit = results[3]
    assert [(e["code"], e["path"]) for e in culprit["errors"]] == [
        ("unknown_course", "/degree/courses/1")
    ]
    for aborted in results[:3]:
        assert [e["code"] for e in aborted["errors"]] == ["batch_aborted"], aborted
        assert aborted["retryable"] is False  # the same batch would be refused again
    assert response.json()["summary"]["rejected"] == 4
    assert api.course() is None
    for model in (Course, CourseRun, Instructor, Degree, EventRecord):
        assert api.count(model) == 0, model
    assert api.event_log() == []


def test_all_or_nothing_batch_with_a_malformed_envelope_writes_nothing(api: Api) -> None:
    events = [*reverse_order_events(), {"event_id": "b-bad", "event_type": "course.delete"}]

    response = api.batch(events, "all_or_nothing")

    results = results_of(response)
    assert [r["status"] for r in results] == ["rejected"] * 4
    assert {e["code"] for e in results[3]["errors"]} == {"invalid_envelope"}
    assert {e["path"] for e in results[3]["errors"]} >= {
        "/events/3/event_type",
        "/events/3/payload",
    }
    for aborted in results[:3]:
        assert [e["code"] for e in aborted["errors"]] == ["batch_aborted"]
    assert api.count(Course) == 0
    assert api.count(EventRecord) == 0


def test_all_or_nothing_batch_of_valid_events_applies_them_all(api: Api) -> None:
    events = [*reverse_order_events(), degree_event("b-degree", ["xe-7001"])]

    response = api.batch(events, "all_or_nothing")

    results = results_of(response)
    assert [(r["event_id"], r["status"]) for r in results] == [
        ("b-run", "applied"),
        ("b-product", "applied"),
        ("b-instructor", "applied"),
        ("b-degree", "applied"),
    ]
    assert response.json()["summary"]["applied"] == 4
    course = api.course()
    assert course is not None
    assert {run["key"] for run in course["course_runs"]} == {*RUN_KEYS, AUTUMN_KEY}
    assert {run["key"]: run["status"] for run in course["course_runs"]} == {
        RUN_KEYS[0]: expected_run_status(GO_LIVE_RUN_0),
        RUN_KEYS[1]: "published",
        AUTUMN_KEY: "published",  # no go-live date
    }
    assert api.get("/degrees/masters-data-science").json()["courses"] == [COURSE_KEY]
    assert len(api.event_log()) == 4


def _database_down(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise OperationalError("UPDATE seats", {}, Exception("boom"))


def test_all_or_nothing_batch_names_the_event_whose_database_write_failed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The product's seat step fails: the product is the failed event, not its neighbour."""
    monkeypatch.setattr("catalog_gateway.gateway.plans.sync_seats", _database_down)
    events = [
        envelope("b-product", product_payload()),
        envelope("b-instructor", {"instructor": instructor_payload("in-4")}, "instructor.upsert"),
    ]

    response = api.batch(events, "all_or_nothing")

    results = results_of(response)
    answers = {r["event_id"]: r for r in results}
    assert api.count(Instructor) == 0
    assert api.count(Course) == 0
    assert (answers["b-product"]["status"], answers["b-product"]["retryable"]) == (
        "failed",
        True,
    ), results
    assert [e["code"] for e in answers["b-product"]["errors"]] == ["catalog_write_failed"]
    assert answers["b-instructor"]["status"] == "rejected"
    assert [e["code"] for e in answers["b-instructor"]["errors"]] == ["batch_aborted"]
    # The culprit's failure is retryable, so sending the batch again may apply it.
    assert answers["b-instructor"]["retryable"] is True


def test_malformed_json_batch_is_400(api: Api) -> None:
    response = api.client.post(
        "/api/v1/events/batch",
        content=b'{"events": [',
        headers={"Content-Type": "application/json", **bearer(api.keys.exec_ed)},
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["code"] == "malformed_json"


def test_batch_of_more_than_500_events_is_413(api: Api) -> None:
    events = [
        envelope(f"i-{n}", {"instructor": instructor_payload(f"in-{n}")}, "instructor.upsert")
        for n in range(501)
    ]

    response = api.batch(events)

    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert (body["status"], body["code"]) == (413, "batch_too_large")
    assert api.count(Instructor) == 0
    assert api.count(EventRecord) == 0
