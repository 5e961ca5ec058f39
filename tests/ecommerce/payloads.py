"""A realistic product of the `exec-ed` LoB: one executive-education course with a course
entitlement (2800.00 USD) and two runs, each selling one paid seat in US dollars.

Neither run has a go-live date, so a run whose publication succeeds is `published` at once.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

COURSE_KEY = "MITx+DS101"
RUN_KEYS = ("course-v1:MITx+DS101+1T2027", "course-v1:MITx+DS101+2T2027")
SEAT_TYPE = "paid-executive-education"
SEAT_PRICES = ("2800.00", "2950.00")
ENTITLEMENT_PRICE = "2800.00"
RUN_ENDS = ("2027-03-29T23:59:59+00:00", "2027-07-27T23:59:59+00:00")
UPGRADE_DEADLINE_RUN_0 = "2027-01-25T23:59:59+00:00"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def occurred(minutes: float = 0) -> str:
    """An `occurred_at` some minutes after T0."""
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def envelope(
    event_id: str,
    payload: dict[str, Any],
    *,
    event_type: str = "product.upsert",
    minutes: float = 0,
) -> dict[str, Any]:
    """The envelope of one event."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": occurred(minutes),
        "payload": payload,
    }


def course_payload(**changes: Any) -> dict[str, Any]:
    """Data Science for Leaders, sold as a course entitlement too."""
    data: dict[str, Any] = {
        "external_id": "xe-7001",
        "organization": "MITx",
        "number": "DS101",
        "title": "Data Science for Leaders",
        "short_description": "Lead with data.",
        "full_description": "<p>Eight weeks on data-driven decisions.</p>",
        "level": "introductory",
        "subjects": ["computer-science"],
        "image_url": "https://cdn.example.org/ds101.jpg",
        "course_type": "executive-education-2u",
        "entitlement": {"seat_type": SEAT_TYPE, "price": ENTITLEMENT_PRICE, "currency": "USD"},
        "marketing": {
            "external_url": "https://example.org/ds101",
            "marketing_type": "short_course",
        },
    }
    return data | changes


def run_payload(index: int, *, price: str | None = None) -> dict[str, Any]:
    """Run 0 (February 2027) or run 1 (June 2027), each with its paid seat."""
    if index == 0:
        data: dict[str, Any] = {
            "external_id": "variant-1",
            "start": "2027-02-01T00:00:00Z",
            "end": "2027-03-29T23:59:59Z",
            "enrollment_end": "2027-01-25T23:59:59Z",
            "staff": ["in-1"],
        }
        upgrade_deadline: str | None = "2027-01-25T23:59:59Z"
    else:
        data = {
            "external_id": "variant-2",
            "start": "2027-06-01T00:00:00Z",
            "end": "2027-07-27T23:59:59Z",
            "enrollment_end": "2027-05-25T23:59:59Z",
            "staff": ["in-1"],
        }
        upgrade_deadline = None
    return data | {
        "go_live_date": None,
        "pacing": "instructor_paced",
        "run_type": SEAT_TYPE,
        "min_effort": 4,
        "max_effort": 6,
        "weeks_to_complete": 8,
        "content_language": "en-US",
        "transcript_languages": ["en-US"],
        "seats": [
            {
                "type": SEAT_TYPE,
                "price": price or SEAT_PRICES[index],
                "currency": "USD",
                "upgrade_deadline": upgrade_deadline,
            }
        ],
    }


def product_payload(
    *, prices: tuple[str, str] = SEAT_PRICES, number: str = "DS101", external_id: str = "xe-7001"
) -> dict[str, Any]:
    """The complete product: the course, its instructor, two runs with their seats."""
    return {
        "course": course_payload(number=number, external_id=external_id),
        "instructors": [
            {
                "external_id": "in-1",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "email": "ada@example.org",
                "position": {"title": "Professor", "organization": "MIT"},
            }
        ],
        "course_runs": [run_payload(0, price=prices[0]), run_payload(1, price=prices[1])],
    }


def copied(payload: dict[str, Any]) -> dict[str, Any]:
    """A deep copy."""
    return copy.deepcopy(payload)
