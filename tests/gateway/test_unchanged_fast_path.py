"""The unchanged fast path (`gateway.unchanged`): an event that would change nothing is answered
from the fingerprints loaded for its request, with the answer the full path gives, and only when
that is true: stale, retired, remapped, or changed earlier in the same request takes the full
path.

Whether the full path ran is seen by recording the catalog upserts the plan's steps call; the
same recording shows, for each test, that the full path does run once fingerprints are cleared
(so a test cannot pass by never taking it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from catalog_gateway.catalog.models import Course, CourseRun, Instructor
from catalog_gateway.gateway import plans
from catalog_gateway.sources.service import map_organization_code
from tests.gateway.conftest import Api
from tests.gateway.payloads import (
    COURSE_KEY,
    course_payload,
    envelope,
    instructor_payload,
    occurred,
    product_payload,
    run_payload,
)

UPSERTS = ("upsert_instructor", "upsert_course", "upsert_course_run")


@pytest.fixture
def full_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How many times each catalog upsert ran (the fast path calls none)."""
    calls: Counter[str] = Counter()
    for name in UPSERTS:
        original = getattr(plans, name)

        def recorded(*args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            calls[_name] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(plans, name, recorded)
    return calls


def forget_fingerprints(api: Api) -> None:
    """As rows written before fingerprints existed: the next event compares column by column."""
    with api.database.unit_of_work() as session:
        for model in (Instructor, Course, CourseRun):
            session.execute(update(model).values(fingerprint=None))


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what differs between two sends (event id, timings)."""
    steps = [{k: v for k, v in step.items() if k != "duration_ms"} for step in answer["steps"]]
    return {k: v for k, v in answer.items() if k not in ("event_id", "duration_ms")} | {
        "steps": steps
    }


def send(api: Api, event_id: str, payload: dict[str, Any], hours: float, **kw: Any) -> Any:
    return api.send(envelope(event_id, payload, occurred_at=occurred(hours), **kw))


EVENTS = {
    "product.upsert": product_payload(),
    "course.upsert": {"course": course_payload()},
    "instructor.upsert": {"instructor": instructor_payload("in-1")},
    "course_run.upsert": {
        "course": {"external_id": "xe-7001"},
        "instructors": [instructor_payload("in-1"), instructor_payload("in-2")],
        "run": run_payload(0),
    },
}


@pytest.mark.parametrize("event_type", list(EVENTS))
def test_an_unchanged_event_answers_as_the_full_path_does(
    api: Api, full_path: Counter[str], event_type: str
) -> None:
    assert send(api, "setup", product_payload(), 0).status_code == 200
    payload = EVENTS[event_type]
    first = send(api, "first", payload, 1, event_type=event_type)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "unchanged"
    if event_type != "product.upsert":  # the product's upsert ran once, for "setup"
        assert send(api, "settle", payload, 1.5, event_type=event_type).status_code == 200
    full_path.clear()
    fast = send(api, "fast", payload, 2, event_type=event_type)
    assert fast.status_code == 200, fast.text
    assert sum(full_path.values()) == 0, full_path

    forget_fingerprints(api)
    slow = send(api, "slow", payload, 3, event_type=event_type)
    assert slow.status_code == 200, slow.text
    assert sum(full_path.values()) > 0
    assert comparable(fast.json()) == comparable(slow.json())
    assert fast.json()["status"] == "unchanged"


def test_the_fast_path_moves_the_clocks_so_an_older_event_is_stale(
    api: Api, full_path: Counter[str]
) -> None:
    assert send(api, "v1", product_payload(), 1).status_code == 200
    full_path.clear()
    assert send(api, "again", product_payload(), 3).json()["status"] == "unchanged"
    assert sum(full_path.values()) == 0

    older = send(api, "older", product_payload(title="Older title"), 2)

    assert older.status_code == 409, older.text
    assert older.json()["status"] == "stale"
    assert api.course()["title"] == "Data Science for Leaders"  # type: ignore[index]


def test_a_stale_resend_of_the_same_content_is_stale_not_unchanged(
    api: Api, full_path: Counter[str]
) -> None:
    assert send(api, "v1", product_payload(), 2).status_code == 200

    older = send(api, "older", product_payload(), 1)

    assert older.status_code == 409, older.text
    assert older.json()["status"] == "stale"


def test_a_retired_product_sent_again_is_restored_by_the_full_path(
    api: Api, full_path: Counter[str]
) -> None:
    assert send(api, "v1", product_payload(), 1).status_code == 200
    retire = api.send(
        envelope(
            "retire",
            {"course": {"external_id": "xe-7001"}},
            "product.retire",
            occurred_at=occurred(2),
        )
    )
    assert retire.status_code == 200, retire.text
    full_path.clear()

    again = send(api, "again", product_payload(), 3)

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "applied"
    assert full_path["upsert_course"] == 1
    course = api.course()
    assert course is not None
    assert course["product_status"] == "published"


def test_a_remapped_organization_code_is_applied_not_unchanged(
    api: Api, full_path: Counter[str]
) -> None:
    """Once the process's cache of organization codes has expired (`auth_cache_seconds`), the
    same course content resolves to another organization: a change."""
    assert send(api, "v1", product_payload(), 1).status_code == 200
    with api.database.unit_of_work() as session:
        map_organization_code(session, "exec-ed", "MIT", "HarvardX")
    api.client.app.state.gateway.organizations.clear()  # type: ignore[attr-defined]
    full_path.clear()

    again = send(api, "again", product_payload(), 2)

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "applied"
    course_step = next(s for s in again.json()["steps"] if s["name"] == "course.upsert")
    assert course_step["action"] == "updated"
    assert full_path["upsert_course"] == 1


def test_in_one_batch_an_event_after_a_change_is_not_matched_against_the_old_state(
    api: Api, full_path: Counter[str]
) -> None:
    """The second event restores what the first changed: loaded before the first ran, the
    fingerprints would say "unchanged", but the catalog holds the first event's title."""
    assert send(api, "v1", product_payload(), 1).status_code == 200
    full_path.clear()

    response = api.batch(
        [
            envelope("change", product_payload(title="Changed"), occurred_at=occurred(2)),
            envelope("restore", product_payload(), occurred_at=occurred(3)),
        ]
    )

    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["applied", "applied"]
    assert api.course()["title"] == "Data Science for Leaders"  # type: ignore[index]
    assert full_path["upsert_course"] == 2


def test_in_one_batch_an_older_event_after_an_unchanged_one_is_stale(
    api: Api, full_path: Counter[str]
) -> None:
    assert send(api, "v1", product_payload(), 1).status_code == 200

    response = api.batch(
        [
            envelope("same", product_payload(), occurred_at=occurred(3)),
            envelope("older", product_payload(title="Older"), occurred_at=occurred(2)),
        ]
    )

    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["unchanged", "stale"]
    assert api.course()["title"] == "Data Science for Leaders"  # type: ignore[index]


def test_a_batch_of_unchanged_products_takes_no_full_path(
    api: Api, full_path: Counter[str]
) -> None:
    products = [product_payload(), _other_product()]
    for n, payload in enumerate(products):
        assert send(api, f"v1-{n}", payload, 1).status_code == 200
    full_path.clear()

    response = api.batch(
        [envelope(f"again-{n}", p, occurred_at=occurred(2)) for n, p in enumerate(products)]
    )

    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["unchanged", "unchanged"]
    assert sum(full_path.values()) == 0
    runs = [r["products"]["course_runs"] for r in response.json()["results"]]
    assert runs[1] == ["course-v1:MITx+DS102+1T2027"]
    assert COURSE_KEY in response.json()["results"][0]["products"]["courses"]


def _other_product() -> dict[str, Any]:
    return {
        "course": course_payload(external_id="xe-7002", number="DS102", title="Data Two"),
        "instructors": [instructor_payload("in-4")],
        "course_runs": [run_payload(0, external_id="v-7002", staff=["in-4"])],
    }
