"""Events refused before anything is written: invalid payloads, ownership, keys, envelopes."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_gateway.auth.keys import issue_key, revoke_key
from catalog_gateway.catalog.models import Course, CourseRun, Instructor, Seat
from catalog_gateway.events.models import EventRecord
from catalog_gateway.sources.service import get_source
from tests.factories import bearer, make_source
from tests.gateway.conftest import Api
from tests.gateway.payloads import (
    bootcamp_product_payload,
    course_payload,
    envelope,
    occurred,
    product_payload,
    run_payload,
)
from tests.protection.conftest import assert_problem


def _invalid_product() -> dict[str, Any]:
    """The canonical product with fourteen mistakes spread over the course and both runs."""
    product = product_payload()
    course = product["course"]
    del course["title"]
    course["organization"] = "Nowhere University"
    course["subjects"] = ["computer-science", "underwater-basket-weaving"]
    course["image_url"] = "ftp://cdn.example.org/ds101.jpg"
    first, second = product["course_runs"]
    first["end"] = "2027-01-15T00:00:00Z"  # before its start, 2027-02-01
    first["enrollment_end"] = "2027-01-10T00:00:00Z"
    first["staff"] = ["in-1", "in-9"]
    first["content_language"] = "english"
    first["seats"] = [
        {"type": "paid-executive-education", "price": "2800.005", "currency": "usd"},
        {"type": "verified", "price": "-5.00", "currency": "USD"},
    ]
    second["run_type"] = "verified-audit"
    second["enrollment_end"] = "2027-08-01T00:00:00Z"  # after its end, 2027-07-27
    second["min_effort"] = 8
    return product


EXPECTED_ERRORS = {
    ("required", "/course/title"),
    ("unknown_organization", "/course/organization"),
    ("unknown_subject", "/course/subjects/1"),
    ("invalid_url", "/course/image_url"),
    ("invalid_date", "/course_runs/0/end"),
    ("unknown_instructor", "/course_runs/0/staff/1"),
    ("invalid_language", "/course_runs/0/content_language"),
    ("invalid_price", "/course_runs/0/seats/0/price"),
    ("invalid_currency", "/course_runs/0/seats/0/currency"),
    ("invalid_price", "/course_runs/0/seats/1/price"),
    ("seat_type_not_allowed", "/course_runs/0/seats/1/type"),
    ("run_type_not_allowed", "/course_runs/1/run_type"),
    ("invalid_date", "/course_runs/1/enrollment_end"),
    ("invalid_effort", "/course_runs/1/max_effort"),
}


def test_invalid_product_is_rejected_with_every_field_error_at_once(api: Api) -> None:
    response = api.send(envelope("bad-1", _invalid_product()))

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert {(error["code"], error["path"]) for error in answer["errors"]} == EXPECTED_ERRORS
    for error in answer["errors"]:
        assert error["message"].strip(), error
        assert error["step"] == "validate", error
        assert error["source_path"] == error["path"], error  # the canonical transformer
    assert [(step["name"], step["status"]) for step in answer["steps"]] == [
        ("transform", "ok"),
        ("validate", "failed"),
    ]


def test_invalid_product_writes_nothing_and_is_logged_as_rejected(api: Api) -> None:
    assert api.send(envelope("bad-1", _invalid_product())).status_code == 422

    assert api.get("/courses").json()["results"] == []
    for model in (Course, CourseRun, Seat, Instructor):
        assert api.count(model) == 0, model
    record = api.event("bad-1")
    assert record["status"] == "rejected"
    assert {(error["code"], error["path"]) for error in record["errors"]} == EXPECTED_ERRORS
    assert record["raw_payload"] == _invalid_product()


@pytest.fixture
def bootcamp_course(api: Api) -> dict[str, Any]:
    """`bootcamps` owns HarvardX+CODE100 (a cohort) and degree software-engineering-certificate."""
    response = api.send(envelope("bc-1", bootcamp_product_payload()), key=api.keys.bootcamps)
    assert response.status_code == 200, response.text
    degree = {
        "external_id": "cert-1",
        "marketing_slug": "software-engineering-certificate",
        "title": "Software Engineering Certificate",
        "program_type": "professional-certificate",
        "organization": "HarvardX",
        "courses": ["bc-100"],
    }
    degree_event = envelope("bc-2", {"degree": degree}, event_type="degree.upsert")
    response = api.send(degree_event, key=api.keys.bootcamps)
    assert response.status_code == 200, response.text
    return api.course("HarvardX+CODE100") or {}


def test_run_for_another_sources_course_is_not_owner(
    api: Api, bootcamp_course: dict[str, Any]
) -> None:
    event = envelope(
        "exec-run-1",
        {"course": {"key": "HarvardX+CODE100"}, "run": run_payload(0, staff=[])},
        event_type="course_run.upsert",
    )

    response = api.send(event)

    assert response.status_code == 403, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert [(e["code"], e["path"]) for e in answer["errors"]] == [("not_owner", "/course/key")]
    assert answer["errors"][0]["source_path"] == "/course/key"
    assert api.course("HarvardX+CODE100") == bootcamp_course
    assert api.count(CourseRun) == 1


def test_retiring_another_sources_course_by_key_is_not_owner(
    api: Api, bootcamp_course: dict[str, Any]
) -> None:
    event = envelope("exec-x-1", {"course": {"key": "HarvardX+CODE100"}}, "product.retire")

    response = api.send(event)

    assert response.status_code == 403, response.text
    assert [e["code"] for e in response.json()["errors"]] == ["not_owner"]
    course = api.course("HarvardX+CODE100")
    assert course == bootcamp_course
    assert (course or {})["product_status"] == "published"


def test_product_whose_course_key_another_source_owns_is_not_owner(
    api: Api, bootcamp_course: dict[str, Any]
) -> None:
    product = product_payload(
        external_id="xe-9001", organization="HarvardX", number="CODE100", title="Hijacked"
    )

    response = api.send(envelope("exec-1", product))

    assert response.status_code == 403, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert [(e["code"], e["path"]) for e in answer["errors"]] == [("not_owner", "/course/number")]
    assert api.course("HarvardX+CODE100") == bootcamp_course
    assert api.count(Course) == 1
    assert api.count(Instructor) == 0
    assert api.count(CourseRun) == 1


def test_degree_whose_slug_another_source_owns_is_not_owner(
    api: Api, bootcamp_course: dict[str, Any]
) -> None:
    degree = {
        "external_id": "deg-9",
        "marketing_slug": "software-engineering-certificate",
        "title": "Taken Over",
        "program_type": "professional-certificate",
        "organization": "MIT",
    }

    response = api.send(envelope("exec-deg", {"degree": degree}, event_type="degree.upsert"))

    assert response.status_code == 403, response.text
    errors = response.json()["errors"]
    assert [(e["code"], e["path"]) for e in errors] == [("not_owner", "/degree/marketing_slug")]
    degree_now = api.get("/degrees/software-engineering-certificate").json()
    assert (degree_now["title"], degree_now["source"]) == (
        "Software Engineering Certificate",
        "bootcamps",
    )


# --- keys -------------------------------------------------------------------------------


def test_event_without_a_key_is_401(api: Api) -> None:
    response = api.client.post("/api/v1/events", json=envelope("e-1", product_payload()))

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert api.count(EventRecord) == 0


@pytest.mark.parametrize("kind", ["garbage", "revoked"])
def test_event_with_a_garbage_or_revoked_key_is_401(api: Api, kind: str) -> None:
    key = "cgw_not-a-key-anyone-was-given"
    if kind == "revoked":
        with api.database.unit_of_work() as session:
            issued = issue_key(session, source=get_source(session, "exec-ed"))
            revoke_key(session, issued.id)
        key = issued.api_key

    response = api.client.post(
        "/api/v1/events", json=envelope("e-1", product_payload()), headers=bearer(key)
    )

    assert_problem(response, 401, "unauthorized")
    assert api.count(EventRecord) == 0
    assert api.count(Course) == 0


def test_admin_key_cannot_post_events(api: Api) -> None:
    response = api.send(envelope("e-1", product_payload()), key=api.keys.admin)

    assert_problem(response, 403, "forbidden")
    assert api.count(Course) == 0


def test_event_type_not_allowed_for_the_source_is_403(api: Api) -> None:
    with api.database.unit_of_work() as session:
        _, issued = make_source(
            session, "course-only", rate="100/second", burst=100, event_types=["course.upsert"]
        )

    refused = api.send(envelope("c-1", product_payload(organization="MITx")), key=issued.api_key)
    allowed = api.send(
        envelope("c-2", {"course": course_payload(organization="MITx")}, "course.upsert"),
        key=issued.api_key,
    )

    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/json")
    answer = refused.json()
    assert (answer["status"], answer["event_id"], answer["source"]) == (
        "rejected",
        "c-1",
        "course-only",
    )
    assert [error["code"] for error in answer["errors"]] == ["event_type_not_allowed"]
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["status"] == "applied"


# --- malformed requests -----------------------------------------------------------------


def test_malformed_json_is_400(api: Api) -> None:
    response = api.client.post(
        "/api/v1/events",
        content=b'{"event_id": "e-1", "payload": {',
        headers={"Content-Type": "application/json", **bearer(api.keys.exec_ed)},
    )

    assert_problem(response, 400, "malformed_json")
    assert api.count(EventRecord) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", ""),
        ("event_id", "x" * 129),
        ("event_id", "lob 123"),
        ("event_type", "course.delete"),
        ("occurred_at", "2026-11-28T10:00:00"),
        ("payload", ["not", "an", "object"]),
        ("payload", "course"),
        ("source", "bootcamps"),  # the source is the key's, never the body's
    ],
)
def test_invalid_envelope_is_400_with_a_pointer_to_the_field(
    api: Api, field: str, value: Any
) -> None:
    event = envelope("e-1", product_payload()) | {field: value}

    response = api.send(event)

    body = assert_problem(response, 400, "invalid_envelope")
    assert [error["path"] for error in body["errors"]] == [f"/{field}"]
    assert all(error["message"] for error in body["errors"])
    assert api.count(EventRecord) == 0
    assert api.count(Course) == 0


def test_envelope_with_128_character_event_id_is_accepted(api: Api) -> None:
    event_id = "x" * 128

    response = api.send(envelope(event_id, product_payload()))

    assert response.status_code == 200, response.text
    assert api.event(event_id)["status"] == "applied"


def test_envelope_missing_fields_lists_each_of_them(api: Api) -> None:
    response = api.send({"event_type": "product.upsert"})

    body = assert_problem(response, 400, "invalid_envelope")
    assert sorted(error["path"] for error in body["errors"]) == [
        "/event_id",
        "/occurred_at",
        "/payload",
    ]


def test_a_course_slug_another_source_holds_is_not_owner(api: Api) -> None:
    """Issue 14, point 3: a course page's slug is unique in the whole catalog."""
    bootcamp = bootcamp_product_payload()
    bootcamp["course"]["slug"] = "software-engineering"
    assert api.send(envelope("bc-1", bootcamp), key=api.keys.bootcamps).status_code == 200

    response = api.send(envelope("exec-1", product_payload(slug="software-engineering")))

    assert response.status_code == 403, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert [(e["code"], e["path"]) for e in answer["errors"]] == [("not_owner", "/course/slug")]
    assert api.course() is None
    assert api.count(Course) == 1


def test_a_course_may_keep_or_change_its_own_slug(api: Api) -> None:
    assert api.send(envelope("v1", product_payload(slug="ds101"))).status_code == 200
    again = api.send(envelope("v2", product_payload(slug="ds101"), occurred_at=occurred(1)))
    moved = api.send(envelope("v3", product_payload(slug="ds-101"), occurred_at=occurred(2)))

    assert (again.status_code, again.json()["status"]) == (200, "unchanged")
    assert (moved.status_code, moved.json()["status"]) == (200, "applied")
    assert api.course()["slug"] == "ds-101"  # type: ignore[index]
