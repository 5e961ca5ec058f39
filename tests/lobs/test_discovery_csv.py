"""The `discovery-csv` transformer through POST /api/v1/events: the rows of one course in the
discovery CSV (one run per row) land in the catalog, and problems name the row and column."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.lobs.conftest import LobApi, discovery_payloads, runs_by_external_id, seats


@pytest.fixture
def product_management() -> dict[str, Any]:
    """MIT's PM101: three runs (February, June, and a B2B run), two of them with staff."""
    return discovery_payloads()[0]


@pytest.fixture
def python_course() -> dict[str, Any]:
    """HarvardX's CS50P: verified-audit, self-paced, no external or variant ids."""
    return discovery_payloads()[1]


def test_course_fields_come_from_the_first_row_and_each_row_is_a_run(
    lob_api: LobApi, product_management: dict[str, Any]
) -> None:
    response = lob_api.send(lob_api.keys.discovery, "pm101-1", product_management)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert answer["products"]["courses"] == ["MITx+PM101"]
    course = lob_api.course("MITx+PM101")
    assert course is not None
    assert course["external_id"] == "pm-101"
    assert course["source"] == "discovery"
    assert course["title"] == "Product Management in Practice"
    assert course["short_description"] == "Ship products customers love."
    assert course["full_description"].startswith("<p>From discovery to delivery")
    assert "Discovery interviews" in course["outcome"]
    assert course["level"] == "intermediate"
    assert course["subjects"] == ["business-management", "computer-science"]
    assert course["course_type"] == "executive-education-2u"
    assert course["image_url"] == "https://images.example.com/exec-ed/pm101/card.jpg"
    assert course["video_url"] == "https://www.youtube.com/watch?v=pm101"
    assert "Delivery" in course["syllabus"]
    assert course["prerequisites"] == "Three years of work experience."
    assert "Finally, a course about shipping." in course["learner_testimonials"]
    assert "Is there a certificate?" in course["faq"]
    assert course["organization_short_code_override"] == "MIT Sloan"
    assert course["organization_logo_override"] == (
        "https://images.example.com/exec-ed/mit-sloan-logo.png"
    )
    marketing = course["marketing"]
    assert marketing["external_url"] == "https://exec-ed.example.com/mit/product-management"
    assert marketing["organic_url"] == "https://www.example.com/course/mitx-product-management"
    assert marketing["lead_capture_form_url"] == "https://www.example.com/lead-capture?id=pm101"
    assert marketing["certificate"] == {
        "heading": "Earn a certificate",
        "blurb": "From MIT Sloan Executive Education.",
    }
    assert marketing["facts"] == [
        {"heading": "91%", "blurb": "would recommend it"},
        {"heading": "40", "blurb": "countries represented"},
    ]
    assert marketing["marketing_type"] == "short_course"

    runs = runs_by_external_id(course)
    assert set(runs) == {"pm101-2027-feb", "pm101-2027-jun", "pm101-acme-2027"}
    february, june, b2b = runs["pm101-2027-feb"], runs["pm101-2027-jun"], runs["pm101-acme-2027"]
    assert february["key"] == "course-v1:MITx+PM101+1T2027"
    assert february["start"] == "2027-02-01T09:00:00Z"
    assert february["end"] == "2027-03-29T17:00:00Z"
    assert february["enrollment_end"] == "2027-01-25T23:59:00Z"
    assert february["go_live_date"] == "2026-12-01T00:00:00Z"
    assert february["pacing"] == "instructor_paced"
    assert february["run_type"] == "paid-executive-education"
    assert (february["min_effort"], february["max_effort"]) == (6, 8)
    assert february["weeks_to_complete"] == 8
    assert february["content_language"] == "en-US"
    assert february["transcript_languages"] == ["en-US"]
    assert seats(february) == [("paid-executive-education", "2500.00", "USD")]
    # ISO dates without a time: a start at midnight, an end (and a close) at the end of the day.
    assert june["start"] == "2027-06-07T00:00:00Z"
    assert june["end"] == "2027-08-02T23:59:59Z"
    assert june["enrollment_end"] == "2027-05-31T23:59:59Z"
    assert june["go_live_date"] is None
    assert seats(june) == [("paid-executive-education", "2650.00", "USD")]
    assert b2b["restriction"] == "custom-b2b-enterprise"
    assert b2b["fixed_price_usd"] == "2200.00"
    assert february["restriction"] is None


def test_staff_named_in_rows_become_instructors_with_stable_ids_and_a_warning(
    lob_api: LobApi, product_management: dict[str, Any]
) -> None:
    response = lob_api.send(lob_api.keys.discovery, "pm101-1", product_management)

    assert response.status_code == 200, response.text
    answer = response.json()
    staff_warnings = [w for w in answer["warnings"] if (w["source_path"] or "").endswith("/staff")]
    assert {w["source_path"] for w in staff_warnings} == {"/rows/0/staff", "/rows/1/staff"}
    assert all("name" in w["message"] for w in staff_warnings)
    assert len(answer["products"]["instructors"]) == 3
    course = lob_api.course("MITx+PM101")
    assert course is not None
    runs = runs_by_external_id(course)
    assert runs["pm101-2027-feb"]["staff"] == ["staff-ada-lovelace", "staff-grace-hopper"]
    assert runs["pm101-2027-jun"]["staff"] == ["staff-grace-hopper", "staff-jose-martinez"]
    assert runs["pm101-acme-2027"]["staff"] == []
    names = {
        (person["given_name"], person["family_name"])
        for person in map(lob_api.instructor, answer["products"]["instructors"])
    }
    assert names == {("Ada", "Lovelace"), ("Grace", "Hopper"), ("José", "Martínez")}


def test_the_same_csv_sent_again_changes_nothing(
    lob_api: LobApi, product_management: dict[str, Any]
) -> None:
    assert lob_api.send(lob_api.keys.discovery, "pm101-1", product_management).status_code == 200

    again = lob_api.send(lob_api.keys.discovery, "pm101-2", copy.deepcopy(product_management))

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "unchanged"


def test_a_verified_audit_course_gets_its_verified_seat_and_a_derived_external_id(
    lob_api: LobApi, python_course: dict[str, Any]
) -> None:
    response = lob_api.send(lob_api.keys.discovery, "cs50p-1", python_course)

    assert response.status_code == 200, response.text
    course = lob_api.course("HarvardX+CS50P")
    assert course is not None
    assert course["external_id"] == "HarvardX+CS50P"
    assert course["course_type"] == "verified-audit"
    assert course["level"] == "introductory"
    assert course["subjects"] == ["computer-science", "data-analysis-statistics", "math"]
    assert course["marketing"]["external_url"] is None
    runs = sorted(course["course_runs"], key=lambda run: run["start"])
    assert [run["key"] for run in runs] == [
        "course-v1:HarvardX+CS50P+1T2027",
        "course-v1:HarvardX+CS50P+1T2028",
    ]
    first = runs[0]
    assert first["external_id"] is None
    assert first["pacing"] == "self_paced"
    assert first["run_type"] == "verified-audit"
    assert first["start"] == "2027-01-03T00:00:00Z"
    assert first["end"] == "2027-12-31T23:59:59Z"
    assert first["go_live_date"] == "2026-12-15T00:00:00Z"
    assert first["content_language"] == "en"
    assert first["transcript_languages"] == ["en", "es-419"]
    assert (first["min_effort"], first["max_effort"], first["weeks_to_complete"]) == (3, 9, 10)
    [seat] = first["seats"]
    assert (seat["type"], seat["price"], seat["currency"]) == ("verified", "199.00", "USD")
    assert seat["upgrade_deadline"] == "2027-12-10T12:00:00Z"
    assert runs[1]["seats"][0]["upgrade_deadline"] is None


def test_a_row_missing_its_number_is_an_error_naming_that_row(
    lob_api: LobApi, product_management: dict[str, Any]
) -> None:
    product_management["rows"][2]["number"] = ""

    response = lob_api.send(lob_api.keys.discovery, "pm101-no-number", product_management)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["code"], e["source_path"]) for e in errors] == [("required", "/rows/2/number")]
    assert "/rows/2/number" in errors[0]["message"]
    assert lob_api.course("MITx+PM101") is None


def test_mapping_and_validation_errors_of_several_rows_come_in_one_answer(
    lob_api: LobApi, product_management: dict[str, Any]
) -> None:
    rows = product_management["rows"]
    rows[2]["number"] = ""
    rows[0]["start_date"] = "31/02/2027"
    rows[1]["content_language"] = "Elvish - Rivendell"
    rows[1]["end_date"] = "2027-05-01"

    response = lob_api.send(lob_api.keys.discovery, "pm101-broken", product_management)

    assert response.status_code == 422, response.text
    found = {(e["source_path"], e["code"], e["step"]) for e in response.json()["errors"]}
    assert ("/rows/2/number", "required", "transform") in found
    assert ("/rows/0/start_date", "invalid_format", "transform") in found
    assert ("/rows/1/content_language", "invalid_language", "validate") in found
    assert ("/rows/1/end_date", "invalid_date", "validate") in found


def test_a_row_of_another_course_is_refused(
    lob_api: LobApi, product_management: dict[str, Any], python_course: dict[str, Any]
) -> None:
    product_management["rows"].append(python_course["rows"][0])

    response = lob_api.send(lob_api.keys.discovery, "pm101-mixed", product_management)

    assert response.status_code == 422, response.text
    mapped = {e["source_path"] for e in response.json()["errors"] if e["step"] == "transform"}
    assert mapped == {"/rows/3/organization", "/rows/3/number"}


def test_a_payload_without_rows_is_refused_before_validation(lob_api: LobApi) -> None:
    response = lob_api.send(lob_api.keys.discovery, "empty", {"rows": []})

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["errors"]
    assert answer["errors"][0]["step"] == "transform"
