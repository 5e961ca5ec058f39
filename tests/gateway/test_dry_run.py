"""?dry_run=true: transform, validate and plan; write nothing, not even the event log."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_gateway.catalog.models import Course, CourseRun, Instructor
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.types import EventType
from catalog_gateway.transformers.base import TransformResult
from catalog_gateway.transformers.canonical import CanonicalTransformer
from tests.factories import bearer
from tests.gateway.conftest import Api
from tests.gateway.payloads import (
    CONTRACT_ORDER,
    course_payload,
    envelope,
    instructor_payload,
    occurred,
    product_payload,
    run_payload,
)


def test_dry_run_plans_every_step_in_contract_order_and_writes_nothing(api: Api) -> None:
    response = api.send(envelope("dry-1", product_payload()), dry_run=True)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "planned"
    assert answer["errors"] == []
    assert [step["name"] for step in answer["steps"]] == CONTRACT_ORDER
    assert [step["status"] for step in answer["steps"][:2]] == ["ok", "ok"]
    assert {step["status"] for step in answer["steps"][2:]} == {"planned"}
    assert api.get("/courses").json()["results"] == []
    assert api.get("/events").json()["results"] == []
    for model in (Course, CourseRun, Instructor, EventRecord):
        assert api.count(model) == 0, model


def test_dry_run_does_not_use_up_the_event_id(api: Api) -> None:
    event = envelope("dry-1", product_payload())
    assert api.send(event, dry_run=True).status_code == 200

    response = api.send(event)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    assert "Idempotent-Replayed" not in response.headers


def test_dry_run_of_an_invalid_payload_is_422(api: Api) -> None:
    product = product_payload()
    product["course_runs"][0]["seats"][0]["currency"] = "usd"

    response = api.send(envelope("dry-2", product), dry_run=True)

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert [(e["code"], e["path"]) for e in answer["errors"]] == [
        ("invalid_currency", "/course_runs/0/seats/0/currency")
    ]
    assert api.get("/events").json()["results"] == []


def test_a_dry_run_batch_plans_each_event_and_writes_nothing(api: Api) -> None:
    events = [envelope("dry-b1", product_payload()), envelope("dry-b2", {"course": {}})]

    response = api.client.post(
        "/api/v1/events/batch",
        json={"events": events},
        params={"dry_run": "true"},
        headers=bearer(api.keys.exec_ed),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["planned", "rejected"]
    assert body["summary"]["planned"] == 1
    assert body["summary"]["rejected"] == 1
    for model in (Course, CourseRun, Instructor, EventRecord):
        assert api.count(model) == 0, model


def test_a_dry_run_of_a_stale_event_answers_stale_as_sending_it_would(api: Api) -> None:
    """Issue 14: integrators can trust a dry run; one that would be refused as stale says so
    (409, the same errors and trace as sending it) and writes nothing."""
    assert api.send(envelope("v2", product_payload(), occurred_at=occurred(2))).status_code == 200
    older = envelope("older", product_payload(title="Older"), occurred_at=occurred(1))

    dry = api.send(older, dry_run=True)

    assert dry.status_code == 409, dry.text
    answer = dry.json()
    assert answer["status"] == "stale"
    assert [(e["code"], e["step"], e["path"]) for e in answer["errors"]] == [
        ("stale", "course.upsert", "/course")
    ]
    assert api.get("/events", event_type="product.upsert").json()["results"][-1]["event_id"] == "v2"
    assert api.count(EventRecord) == 1
    assert api.course()["title"] == "Data Science for Leaders"  # type: ignore[index]
    sent = api.send(older)
    assert sent.status_code == 409, sent.text
    assert "names" not in sent.json()  # only dry runs name what the event names
    assert answer.pop("names") == [
        "course:MITx+DS101",
        "course:xe-7001",
        "instructor:in-1",
        "instructor:in-2",
        "instructor:in-3",
    ]
    assert comparable(answer) == comparable(sent.json())


def test_a_dry_run_batch_says_which_event_would_be_stale(api: Api) -> None:
    assert api.send(envelope("v2", product_payload(), occurred_at=occurred(2))).status_code == 200
    events = [
        envelope("older", product_payload(title="Older"), occurred_at=occurred(1)),
        envelope("newer", product_payload(title="Newer"), occurred_at=occurred(3)),
    ]

    response = api.client.post(
        "/api/v1/events/batch",
        json={"events": events},
        params={"dry_run": "true"},
        headers=bearer(api.keys.exec_ed),
    )

    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["stale", "planned"]
    assert api.count(EventRecord) == 1
    assert api.course()["title"] == "Data Science for Leaders"  # type: ignore[index]


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without its timings."""
    steps = [{k: v for k, v in step.items() if k != "duration_ms"} for step in answer["steps"]]
    return {k: v for k, v in answer.items() if k != "duration_ms"} | {"steps": steps}


# --- names: what the event names, in the source's own ids (dry runs only) ------------------

PRODUCT_NAMES = [
    "course:MITx+DS101",  # the key it would have: organization code MIT is MITx's
    "course:xe-7001",
    "instructor:in-1",
    "instructor:in-2",
    "instructor:in-3",
]
ML201 = "MITx+ML201"


def degree_payload(**changes: Any) -> dict[str, Any]:
    """Master of Data Science, listing ML201 by key and DS101 by external id."""
    degree = {
        "external_id": "deg-1",
        "marketing_slug": "masters-data-science",
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MIT",
        "courses": [ML201, "xe-7001"],
    }
    return {"degree": degree | changes}


def dry_run_batch(api: Api, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = api.client.post(
        "/api/v1/events/batch",
        json={"events": events},
        params={"dry_run": "true"},
        headers=bearer(api.keys.exec_ed),
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_a_dry_run_names_the_product_s_course_and_instructors(api: Api) -> None:
    response = api.send(envelope("dry-1", product_payload()), dry_run=True)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "planned"
    assert response.json()["names"] == PRODUCT_NAMES


def test_a_dry_run_batch_names_each_event(api: Api) -> None:
    ml201 = product_payload(external_id="xe-7002", number="ML201")
    ml201["instructors"], ml201["course_runs"] = [], []
    events = [
        envelope("dry-1", product_payload()),
        envelope("dry-2", ml201),
        envelope("dry-3", {"instructor": instructor_payload("in-5")}, "instructor.upsert"),
    ]

    results = dry_run_batch(api, events)

    assert [(r["event_id"], r["names"]) for r in results] == [
        ("dry-1", PRODUCT_NAMES),
        ("dry-2", ["course:MITx+ML201", "course:xe-7002"]),
        ("dry-3", ["instructor:in-5"]),
    ]


def test_a_dry_run_names_a_degree_by_external_id_and_slug_and_its_courses(api: Api) -> None:
    for event_id, course in [
        ("c-1", course_payload()),
        ("c-2", course_payload(external_id="xe-7002", number="ML201", title="ML Strategy")),
    ]:
        sent = api.send(envelope(event_id, {"course": course}, "course.upsert"))
        assert sent.status_code == 200, sent.text

    response = api.send(envelope("d-1", degree_payload(), "degree.upsert"), dry_run=True)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "planned"
    assert response.json()["names"] == [
        "course:MITx+ML201",
        "course:xe-7001",
        "degree:deg-1",
        "degree:masters-data-science",
    ]


def test_a_rejected_dry_run_still_names_what_the_event_names(api: Api) -> None:
    """A degree listing courses that do not exist, a product of an unknown organization (no
    key it would have): rejected, named all the same."""
    unknown_organization = product_payload(organization="NOPE")

    results = dry_run_batch(
        api,
        [
            envelope("d-1", degree_payload(marketing_slug="mds"), "degree.upsert"),
            envelope("dry-2", unknown_organization),
        ],
    )

    assert [(r["status"], r["names"]) for r in results] == [
        ("rejected", ["course:MITx+ML201", "course:xe-7001", "degree:deg-1", "degree:mds"]),
        ("rejected", PRODUCT_NAMES[1:]),
    ]


def test_a_dry_run_of_an_invalid_payload_names_it(api: Api) -> None:
    product = product_payload()
    product["course_runs"][0]["seats"][0]["currency"] = "usd"

    response = api.send(envelope("dry-2", product), dry_run=True)

    assert response.status_code == 422, response.text
    assert response.json()["names"] == PRODUCT_NAMES


def test_other_event_types_are_named_in_a_dry_run(api: Api) -> None:
    results = dry_run_batch(
        api,
        [
            envelope("c-1", {"course": course_payload()}, "course.upsert"),
            envelope(
                "r-1",
                {"course": {"external_id": "xe-7001"}, "run": run_payload(1)},
                "course_run.upsert",
            ),
            envelope("x-1", {"course": {"external_id": "xe-7001"}}, "product.retire"),
        ],
    )

    assert [r["names"] for r in results] == [
        ["course:MITx+DS101", "course:xe-7001"],
        ["course:xe-7001", "instructor:in-1", "instructor:in-3"],
        ["course:xe-7001"],
    ]


def test_a_transform_that_fails_names_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: CanonicalTransformer, event_type: EventType, raw: Any) -> TransformResult:
        raise KeyError("course")

    monkeypatch.setattr(CanonicalTransformer, "transform", broken)

    response = api.send(envelope("dry-1", product_payload()), dry_run=True)

    assert response.status_code == 422, response.text
    answer = response.json()
    assert [e["code"] for e in answer["errors"]] == ["transform_failed"]
    assert answer["names"] == []


def test_answers_that_are_not_dry_runs_have_no_names(api: Api) -> None:
    sent = api.send(envelope("e-1", product_payload()))
    batch = api.batch([envelope("e-2", product_payload(title="Renamed"), occurred_at=occurred(1))])
    replayed = api.send(envelope("e-1", product_payload()))

    assert sent.status_code == 200, sent.text
    assert batch.status_code == 200, batch.text
    assert replayed.headers["Idempotent-Replayed"] == "true"
    for answer in [sent.json(), batch.json()["results"][0], replayed.json()]:
        assert answer["status"] in {"applied", "unchanged"}
        assert "names" not in answer
    for event_id in ("e-1", "e-2"):
        assert "names" not in api.event(event_id)
