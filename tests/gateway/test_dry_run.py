"""?dry_run=true: transform, validate and plan; write nothing, not even the event log."""

from __future__ import annotations

from typing import Any

from catalog_gateway.catalog.models import Course, CourseRun, Instructor
from catalog_gateway.events.models import EventRecord
from tests.gateway.conftest import Api
from tests.gateway.payloads import CONTRACT_ORDER, envelope, occurred, product_payload


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
        headers={"Authorization": f"Bearer {api.keys.exec_ed}"},
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
        headers={"Authorization": f"Bearer {api.keys.exec_ed}"},
    )

    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["stale", "planned"]
    assert api.count(EventRecord) == 1
    assert api.course()["title"] == "Data Science for Leaders"  # type: ignore[index]


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without its timings."""
    steps = [{k: v for k, v in step.items() if k != "duration_ms"} for step in answer["steps"]]
    return {k: v for k, v in answer.items() if k != "duration_ms"} | {"steps": steps}
