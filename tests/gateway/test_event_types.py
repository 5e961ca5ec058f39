"""The other event types over HTTP: instructor, course, course run, degree, retirement."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_gateway.catalog.models import CourseRun, Degree, Instructor
from tests.gateway.conftest import Api
from tests.gateway.payloads import (
    COURSE_KEY,
    GO_LIVE_RUN_0,
    RUN_KEYS,
    course_payload,
    envelope,
    expected_run_status,
    instructor_payload,
    occurred,
    product_payload,
    run_payload,
)

ML201 = "MITx+ML201"


def names(answer: dict[str, Any]) -> list[str]:
    return [step["name"] for step in answer["steps"]]


def send_ok(api: Api, event: dict[str, Any]) -> dict[str, Any]:
    response = api.send(event)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "applied", answer
    return answer


@pytest.fixture
def courses(api: Api) -> None:
    """Courses MITx+DS101 (xe-7001, no runs) and MITx+ML201 (xe-7002), by course.upsert."""
    send_ok(api, envelope("c-1", {"course": course_payload()}, "course.upsert"))
    ml201 = course_payload(external_id="xe-7002", number="ML201", title="Machine Learning Strategy")
    send_ok(api, envelope("c-2", {"course": ml201}, "course.upsert"))


def test_instructor_upsert_creates_an_instructor(api: Api) -> None:
    event = envelope("i-1", {"instructor": instructor_payload("in-5")}, "instructor.upsert")

    answer = send_ok(api, event)

    assert names(answer) == ["transform", "validate", "instructor.upsert"]
    step = answer["steps"][-1]
    assert (step["action"], step["target"]) == ("created", "instructor:in-5")
    [uuid] = answer["products"]["instructors"]
    instructor = api.get(f"/instructors/{uuid}").json()
    assert (instructor["external_id"], instructor["given_name"], instructor["family_name"]) == (
        "in-5",
        "Katherine",
        "Johnson",
    )
    assert instructor["position"] == {"title": "Lecturer", "organization": "MIT"}


def test_course_upsert_creates_a_course_without_runs(api: Api) -> None:
    answer = send_ok(api, envelope("c-1", {"course": course_payload()}, "course.upsert"))

    assert names(answer) == ["transform", "validate", "course.upsert"]
    assert (answer["steps"][-1]["action"], answer["steps"][-1]["target"]) == (
        "created",
        f"course:{COURSE_KEY}",
    )
    assert answer["products"]["courses"] == [COURSE_KEY]
    course = api.course()
    assert course is not None
    assert (course["title"], course["organization"], course["course_runs"]) == (
        "Data Science for Leaders",
        "MITx",
        [],
    )
    assert course["marketing"]["certificate"] == {
        "heading": "Certificate",
        "blurb": "A certificate from MIT.",
    }


def test_course_run_upsert_by_external_id_with_its_instructors(api: Api, courses: None) -> None:
    send_ok(api, envelope("i-1", {"instructor": instructor_payload("in-5")}, "instructor.upsert"))
    payload = {
        "course": {"external_id": "xe-7001"},
        "run": run_payload(0, staff=["in-5", "in-6"]),
        "instructors": [instructor_payload("in-6", given_name="Dorothy", family_name="Vaughan")],
    }

    answer = send_ok(api, envelope("r-1", payload, "course_run.upsert"))

    assert names(answer) == [
        "transform",
        "validate",
        "instructor.upsert",
        "course_run.upsert",
        "seat.upsert",
        "ecommerce.publish",
        "course_run.publish",
    ]
    assert answer["products"]["course_runs"] == [RUN_KEYS[0]]
    run = api.get(f"/course-runs/{RUN_KEYS[0]}").json()
    assert run["course"] == COURSE_KEY
    assert run["staff"] == ["in-5", "in-6"]
    assert run["status"] == expected_run_status(GO_LIVE_RUN_0)
    assert [(s["type"], s["price"]) for s in run["seats"]] == [
        ("paid-executive-education", "2800.00")
    ]


def test_course_run_upsert_by_course_key(api: Api, courses: None) -> None:
    payload = {"course": {"key": COURSE_KEY}, "run": run_payload(1, staff=[])}

    answer = send_ok(api, envelope("r-1", payload, "course_run.upsert"))

    assert answer["products"]["course_runs"] == [RUN_KEYS[1]]
    course = api.course()
    assert course is not None
    assert [(run["key"], run["status"]) for run in course["course_runs"]] == [
        (RUN_KEYS[1], "published")
    ]


def test_run_before_its_go_live_date_is_only_reviewed(api: Api, courses: None) -> None:
    run = run_payload(
        1,
        external_id="variant-autumn",
        start="2027-10-04T00:00:00Z",
        end="2027-11-29T23:59:59Z",
        enrollment_start=None,
        enrollment_end=None,
        go_live_date="2099-01-01T00:00:00Z",
        staff=[],
    )
    payload = {"course": {"external_id": "xe-7001"}, "run": run}

    answer = send_ok(api, envelope("r-1", payload, "course_run.upsert"))

    key = "course-v1:MITx+DS101+3T2027"
    assert answer["steps"][-1]["detail"] == "status unpublished → reviewed"
    assert api.get(f"/course-runs/{key}").json()["status"] == "reviewed"


def test_older_course_run_upsert_is_stale_and_rolls_back_its_instructors(api: Api) -> None:
    send_ok(api, envelope("p-1", product_payload(), occurred_at=occurred(0)))
    payload = {
        "course": {"external_id": "xe-7001"},
        "run": run_payload(0, weeks_to_complete=10, staff=["in-1", "in-7"]),
        "instructors": [instructor_payload("in-7")],
    }

    response = api.send(envelope("r-1", payload, "course_run.upsert", occurred(-1)))

    assert response.status_code == 409, response.text
    answer = response.json()
    assert answer["status"] == "stale"
    assert [(e["code"], e["step"]) for e in answer["errors"]] == [("stale", "course_run.upsert")]
    assert [(s["name"], s["status"]) for s in answer["steps"][2:4]] == [
        ("instructor.upsert", "ok"),
        ("course_run.upsert", "failed"),
    ]
    assert api.count(Instructor) == 3  # in-7 was written, then rolled back
    assert api.get(f"/course-runs/{RUN_KEYS[0]}").json()["weeks_to_complete"] == 8


def test_course_run_upsert_for_an_unknown_course_is_422(api: Api) -> None:
    payload = {"course": {"external_id": "xe-0000"}, "run": run_payload(0, staff=[])}

    response = api.send(envelope("r-1", payload, "course_run.upsert"))

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert [(e["code"], e["path"]) for e in answer["errors"]] == [
        ("unknown_course", "/course/external_id")
    ]
    assert api.count(CourseRun) == 0


def test_degree_upsert_keeps_its_courses_in_order_by_key_or_external_id(
    api: Api, courses: None
) -> None:
    degree = {
        "external_id": "deg-1",
        "marketing_slug": "masters-data-science",
        "title": "Master of Data Science",
        "subtitle": "Online, part-time",
        "program_type": "masters",
        "organization": "MIT",
        "overview": "<p>Two years of applied data science.</p>",
        "card_image_url": "https://cdn.example.org/mds.jpg",
        "courses": [ML201, "xe-7001"],
        "specializations": ["Machine Learning"],
        "level": "advanced",
        "primary_subject": "data-analysis-statistics",
        "content_language": "en-US",
        "external_url": "https://example.org/mds",
        "organic_url": None,
        "lead_capture_form_url": None,
        "organization_short_code_override": None,
    }

    answer = send_ok(api, envelope("d-1", {"degree": degree}, "degree.upsert"))

    assert names(answer) == ["transform", "validate", "degree.upsert"]
    assert answer["products"]["degrees"] == ["masters-data-science"]
    shown = api.get("/degrees/masters-data-science").json()
    assert shown["courses"] == [ML201, COURSE_KEY]
    assert (shown["organization"], shown["product_status"], shown["source"]) == (
        "MITx",
        "published",
        "exec-ed",
    )

    degree["courses"] = ["xe-7001", ML201]
    send_ok(api, envelope("d-2", {"degree": degree}, "degree.upsert", occurred(1)))
    assert api.get("/degrees/masters-data-science").json()["courses"] == [COURSE_KEY, ML201]


def test_product_retire_archives_the_course_and_its_runs(api: Api) -> None:
    send_ok(api, envelope("p-1", product_payload()))

    answer = send_ok(
        api,
        envelope("x-1", {"course": {"external_id": "xe-7001"}}, "product.retire", occurred(1)),
    )

    assert names(answer) == ["transform", "validate", "course.retire"]
    assert answer["steps"][-1]["detail"] == "2 course runs archived"
    assert answer["products"]["courses"] == [COURSE_KEY]
    course = api.course()
    assert course is not None
    assert course["product_status"] == "archived"
    assert [run["status"] for run in course["course_runs"]] == ["archived", "archived"]


def test_retired_product_sent_again_comes_back_published(api: Api) -> None:
    send_ok(api, envelope("p-1", product_payload()))
    send_ok(
        api, envelope("x-1", {"course": {"external_id": "xe-7001"}}, "product.retire", occurred(1))
    )

    answer = send_ok(api, envelope("p-2", product_payload(), occurred_at=occurred(2)))

    assert {s["action"] for s in answer["steps"] if s["name"] == "course.upsert"} == {"updated"}
    course = api.course()
    assert course is not None
    assert course["product_status"] == "published"
    statuses = {run["key"]: run["status"] for run in course["course_runs"]}
    assert statuses == {
        RUN_KEYS[0]: expected_run_status(GO_LIVE_RUN_0),
        RUN_KEYS[1]: "published",
    }


def test_product_retire_archives_a_degree(api: Api, courses: None) -> None:
    degree = {
        "external_id": "deg-1",
        "marketing_slug": "masters-data-science",
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MITx",
        "courses": ["xe-7001"],
    }
    send_ok(api, envelope("d-1", {"degree": degree}, "degree.upsert"))

    answer = send_ok(
        api, envelope("x-1", {"degree": {"external_id": "deg-1"}}, "product.retire", occurred(1))
    )

    assert names(answer) == ["transform", "validate", "degree.retire"]
    shown = api.get("/degrees/masters-data-science").json()
    assert shown["product_status"] == "archived"
    assert shown["courses"] == [COURSE_KEY]
    assert (api.course() or {})["product_status"] == "published"  # its courses stay


def test_retiring_an_unknown_degree_is_422(api: Api) -> None:
    response = api.send(envelope("x-1", {"degree": {"external_id": "deg-0"}}, "product.retire"))

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert [(e["code"], e["path"]) for e in answer["errors"]] == [
        ("unknown_degree", "/degree/external_id")
    ]
    assert api.count(Degree) == 0
