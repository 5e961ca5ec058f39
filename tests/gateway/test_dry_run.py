"""?dry_run=true: transform, validate and plan; write nothing, not even the event log."""

from __future__ import annotations

from catalog_gateway.catalog.models import Course, CourseRun, Instructor
from catalog_gateway.events.models import EventRecord
from tests.gateway.conftest import Api
from tests.gateway.payloads import CONTRACT_ORDER, envelope, product_payload


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
