"""Realistic event payloads in the canonical shape (DESIGN §4), as the `exec-ed` LoB sends them.

`exec-ed` names its organization by its own code `MIT` (mapped to the catalog's `MITx`), so the
course key is `MITx+DS101`. The product has 3 instructors and 2 runs, each run with a paid seat:

- run 0, February 2027 (term 1T2027), go-live 2026-12-01 (the canonical example), 2800.00 USD;
- run 1, June 2027 (term 2T2027), no go-live date (published at once), 2950.00 USD.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

COURSE_KEY = "MITx+DS101"
RUN_KEYS = ("course-v1:MITx+DS101+1T2027", "course-v1:MITx+DS101+2T2027")
INSTRUCTOR_IDS = ("in-1", "in-2", "in-3")
# The trace of the complete product, in the order DESIGN §6 fixes.
CONTRACT_ORDER = [
    "transform",
    "validate",
    "instructor.upsert",
    "instructor.upsert",
    "instructor.upsert",
    "course.upsert",
    "course_run.upsert",
    "course_run.upsert",
    "seat.upsert",
    "seat.upsert",
    "ecommerce.publish",
    "ecommerce.publish",
    "course_run.publish",
    "course_run.publish",
]
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
GO_LIVE_RUN_0 = datetime(2026, 12, 1, tzinfo=UTC)


def occurred(hours: float = 0) -> str:
    """An `occurred_at` `hours` after T0 (2026-11-28T10:00:00Z), RFC 3339 with an offset."""
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def envelope(
    event_id: str,
    payload: dict[str, Any],
    event_type: str = "product.upsert",
    occurred_at: str | None = None,
) -> dict[str, Any]:
    """The envelope of one event."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": occurred_at or occurred(),
        "payload": payload,
    }


def instructor_payload(external_id: str = "in-1", **changes: Any) -> dict[str, Any]:
    """One instructor; `in-1`, `in-2` and `in-3` are Ada, Grace and Alan."""
    people = {
        "in-1": ("Ada", "Lovelace", "Professor", "<p>Analyst of engines.</p>"),
        "in-2": ("Grace", "Hopper", "Rear Admiral", "<p>Compiler pioneer.</p>"),
        "in-3": ("Alan", "Turing", "Reader", "<p>Computability and codes.</p>"),
    }
    given, family, title, bio = people.get(
        external_id, ("Katherine", "Johnson", "Lecturer", "<p>Orbital mechanics.</p>")
    )
    data: dict[str, Any] = {
        "external_id": external_id,
        "given_name": given,
        "family_name": family,
        "email": f"{given.lower()}@example.org",
        "bio": bio,
        "image_url": None,
        "position": {"title": title, "organization": "MIT"},
    }
    return data | changes


def course_payload(**changes: Any) -> dict[str, Any]:
    """Data Science for Leaders, every canonical course field filled as in DESIGN §4."""
    data: dict[str, Any] = {
        "external_id": "xe-7001",
        "organization": "MIT",
        "number": "DS101",
        "title": "Data Science for Leaders",
        "short_description": "Lead with data.",
        "full_description": "<p>Eight weeks on data-driven decisions.</p>",
        "outcome": "Frame business questions as data questions and judge the answers.",
        "syllabus": "<ol><li>Framing</li><li>Evidence</li><li>Decisions</li></ol>",
        "prerequisites": "None.",
        "faq": "<p>Is there an exam? No, a capstone project.</p>",
        "learner_testimonials": "<blockquote>Changed how my team works.</blockquote>",
        "level": "introductory",
        "subjects": ["computer-science"],
        "image_url": "https://cdn.example.org/ds101.jpg",
        "video_url": None,
        "course_type": "executive-education-2u",
        "entitlement": {
            "seat_type": "paid-executive-education",
            "price": "2800.00",
            "currency": "USD",
        },
        "marketing": {
            "external_url": "https://example.org/ds101",
            "organic_url": "https://example.org/courses/ds101",
            "lead_capture_form_url": "https://example.org/ds101/brochure",
            "certificate": {"heading": "Certificate", "blurb": "A certificate from MIT."},
            "facts": [{"heading": "90%", "blurb": "of learners would recommend it"}],
            "marketing_type": "short_course",
        },
        "organization_short_code_override": None,
        "organization_logo_override": None,
    }
    return data | changes


def seat_payload(price: str = "2800.00", **changes: Any) -> dict[str, Any]:
    """The paid executive-education seat."""
    data: dict[str, Any] = {
        "type": "paid-executive-education",
        "price": price,
        "currency": "USD",
        "upgrade_deadline": None,
    }
    return data | changes


def run_payload(index: int = 0, **changes: Any) -> dict[str, Any]:
    """Run 0 (February 2027, the canonical example) or run 1 (June 2027)."""
    if index == 0:
        data: dict[str, Any] = {
            "external_id": "0b6f9a52-variant-1",
            "start": "2027-02-01T00:00:00Z",
            "end": "2027-03-29T23:59:59Z",
            "enrollment_start": None,
            "enrollment_end": "2027-01-25T23:59:59Z",
            "go_live_date": "2026-12-01T00:00:00Z",
            "staff": ["in-1", "in-2"],
            "seats": [seat_payload("2800.00")],
        }
    else:
        data = {
            "external_id": "0b6f9a52-variant-2",
            "start": "2027-06-01T00:00:00Z",
            "end": "2027-07-27T23:59:59Z",
            "enrollment_start": "2027-03-01T00:00:00Z",
            "enrollment_end": "2027-05-25T23:59:59Z",
            "go_live_date": None,
            "staff": ["in-3", "in-1"],
            "seats": [seat_payload("2950.00")],
        }
    data |= {
        "pacing": "instructor_paced",
        "run_type": "paid-executive-education",
        "min_effort": 4,
        "max_effort": 6,
        "weeks_to_complete": 8,
        "content_language": "en-US",
        "transcript_languages": ["en-US"],
        "restriction": None,
        "fixed_price_usd": None,
    }
    return data | changes


def product_payload(**course_changes: Any) -> dict[str, Any]:
    """The complete product: 3 instructors, the course, 2 runs with their seats."""
    return {
        "course": course_payload(**course_changes),
        "instructors": [instructor_payload(external_id) for external_id in INSTRUCTOR_IDS],
        "course_runs": [run_payload(0), run_payload(1)],
    }


def bootcamp_product_payload() -> dict[str, Any]:
    """The `bootcamps` source's product: HarvardX+CODE100 with one cohort."""
    return {
        "course": {
            "external_id": "bc-100",
            "organization": "HarvardX",
            "number": "CODE100",
            "title": "Software Engineering Bootcamp",
            "course_type": "bootcamp-2u",
            "subjects": ["computer-science"],
        },
        "instructors": [],
        "course_runs": [
            {
                "external_id": "cohort-1",
                "start": "2027-05-03T00:00:00Z",
                "end": "2027-08-27T23:59:59Z",
                "pacing": "instructor_paced",
                "run_type": "paid-bootcamp",
                "seats": [{"type": "paid-bootcamp", "price": "12000.00", "currency": "USD"}],
            }
        ],
    }


def copied(payload: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, to change a payload without touching the original."""
    return copy.deepcopy(payload)


def expected_run_status(go_live_date: datetime | None, now: datetime | None = None) -> str:
    """Where publication takes a run: `reviewed` until its go-live date, then `published`."""
    now = now or datetime.now(UTC)
    return "reviewed" if go_live_date is not None and go_live_date > now else "published"
