"""Reading the event log and the schemas: filters, pagination, payloads, who may read what."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.gateway.conftest import PROBLEM_JSON, Api
from tests.gateway.payloads import (
    bootcamp_product_payload,
    envelope,
    instructor_payload,
    occurred,
    product_payload,
)

EVENT_TYPES = {
    "instructor.upsert",
    "course.upsert",
    "course_run.upsert",
    "degree.upsert",
    "product.upsert",
    "product.retire",
}


@pytest.fixture
def history(api: Api) -> dict[str, datetime]:
    """exec-ed: e-1 applied, e-2 rejected, then (after `middle`) e-3 applied; bootcamps: bc-1."""
    started = datetime.now(UTC)
    assert api.send(envelope("e-1", product_payload())).status_code == 200
    invalid = product_payload()
    invalid["course"]["title"] = ""
    assert api.send(envelope("e-2", invalid, occurred_at=occurred(1))).status_code == 422
    time.sleep(0.02)
    middle = datetime.now(UTC)
    time.sleep(0.02)
    instructor = envelope(
        "e-3", {"instructor": instructor_payload("in-5")}, "instructor.upsert", occurred(2)
    )
    assert api.send(instructor).status_code == 200
    bootcamp = envelope("bc-1", bootcamp_product_payload())
    assert api.send(bootcamp, key=api.keys.bootcamps).status_code == 200
    return {"started": started, "middle": middle}


def ids(records: list[dict[str, object]]) -> list[object]:
    return [record["event_id"] for record in records]


def test_event_log_lists_the_callers_events_oldest_first(
    api: Api, history: dict[str, datetime]
) -> None:
    records = api.event_log()

    assert ids(records) == ["e-1", "e-2", "e-3"]
    assert [record["status"] for record in records] == ["applied", "rejected", "applied"]
    assert {record["source"] for record in records} == {"exec-ed"}
    assert all(record["attempts"] == 1 for record in records)
    assert records[0]["occurred_at"].startswith("2026-11-28T10:00:00")


def test_event_log_filters_by_status_type_and_time(api: Api, history: dict[str, datetime]) -> None:
    assert ids(api.event_log(status="rejected")) == ["e-2"]
    assert ids(api.event_log(status="applied")) == ["e-1", "e-3"]
    assert ids(api.event_log(event_type="instructor.upsert")) == ["e-3"]
    assert ids(api.event_log(event_type="product.upsert", status="applied")) == ["e-1"]
    assert ids(api.event_log(since=history["started"].isoformat())) == ["e-1", "e-2", "e-3"]
    assert ids(api.event_log(since=history["middle"].isoformat())) == ["e-3"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.event_log(since=later) == []


def test_event_log_pages_with_a_cursor(api: Api, history: dict[str, datetime]) -> None:
    seen = []
    page = api.get("/events", limit=1).json()
    while True:
        assert len(page["results"]) <= 1
        seen.extend(ids(page["results"]))
        if page["next"] is None:
            break
        page = api.get("/events", limit=1, cursor=page["next"]).json()

    assert seen == ["e-1", "e-2", "e-3"]
    two = api.get("/events", limit=2).json()
    assert ids(two["results"]) == ["e-1", "e-2"]
    assert two["next"] is not None


def test_event_detail_has_the_stored_answer_and_both_payloads(
    api: Api, history: dict[str, datetime]
) -> None:
    record = api.event("e-1")

    assert (record["event_id"], record["event_type"], record["status"]) == (
        "e-1",
        "product.upsert",
        "applied",
    )
    assert record["raw_payload"] == product_payload()
    assert record["canonical_payload"] == product_payload()  # the canonical transformer
    assert [step["name"] for step in record["steps"]][:3] == [
        "transform",
        "validate",
        "instructor.upsert",
    ]
    assert record["products"]["courses"] == ["MITx+DS101"]
    assert record["received_at"] <= record["updated_at"]
    rejected = api.event("e-2")
    assert [(e["code"], e["path"]) for e in rejected["errors"]] == [("required", "/course/title")]


def test_a_source_cannot_read_another_sources_events(
    api: Api, history: dict[str, datetime]
) -> None:
    other = api.keys.bootcamps

    assert ids(api.event_log(key=other)) == ["bc-1"]
    hidden = api.get("/events/e-1", key=other)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith(PROBLEM_JSON)
    assert hidden.json()["code"] == "not_found"
    for path in ("/events", "/events/e-1"):
        response = api.get(path, key=other, source="exec-ed")
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden"
    assert api.get("/events", key=other, source="bootcamps").status_code == 200


def test_admin_lists_every_source_and_names_the_source_for_one_event(
    api: Api, history: dict[str, datetime]
) -> None:
    admin = api.keys.admin

    assert sorted(ids(api.event_log(key=admin))) == ["bc-1", "e-1", "e-2", "e-3"]
    assert ids(api.event_log(key=admin, source="bootcamps")) == ["bc-1"]
    without_source = api.get("/events/e-1", key=admin)
    assert without_source.status_code == 400
    assert without_source.json()["code"] == "invalid_request"
    detail = api.get("/events/e-1", key=admin, source="exec-ed")
    assert detail.status_code == 200
    assert detail.json()["source"] == "exec-ed"
    assert api.get("/events/e-1", key=admin, source="bootcamps").status_code == 404


def test_event_id_is_scoped_to_its_source(api: Api, history: dict[str, datetime]) -> None:
    """bootcamps may use exec-ed's event id e-1: the idempotency key is (source, event_id)."""
    response = api.send(
        envelope("e-1", bootcamp_product_payload(), occurred_at=occurred(1)), key=api.keys.bootcamps
    )

    assert response.status_code == 200, response.text
    assert "Idempotent-Replayed" not in response.headers
    assert response.json()["status"] == "unchanged"
    assert api.event("e-1", key=api.keys.bootcamps)["event_type"] == "product.upsert"
    assert api.event("e-1")["products"]["courses"] == ["MITx+DS101"]


def test_event_with_a_slash_in_its_id_can_be_read_back(api: Api) -> None:
    """Event ids are 1-128 printable ASCII characters, `/` included: the log must serve them."""
    event_id = "lob/2026/0001"
    sent = api.send(
        envelope(event_id, {"instructor": instructor_payload("in-1")}, "instructor.upsert")
    )
    assert sent.status_code == 200, sent.text
    assert [record["event_id"] for record in api.event_log()] == [event_id]

    response = api.get("/events/lob%2F2026%2F0001")

    assert response.status_code == 200, response.text
    assert response.json()["event_id"] == event_id


def test_event_log_needs_a_key(api: Api, history: dict[str, datetime]) -> None:
    response = api.client.get("/api/v1/events")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


# --- schemas ----------------------------------------------------------------------------


def test_event_types_lists_the_six_types_with_their_schema_urls(api: Api) -> None:
    response = api.client.get("/api/v1/event-types")

    assert response.status_code == 200
    types = response.json()
    assert {item["name"] for item in types} == EVENT_TYPES
    assert len(types) == 6
    for item in types:
        assert item["schema_url"] == f"/api/v1/event-types/{item['name']}/schema"
        assert api.client.get(item["schema_url"]).status_code == 200


def test_event_type_schema_is_a_json_schema_of_the_canonical_payload(api: Api) -> None:
    schema = api.client.get("/api/v1/event-types/product.upsert/schema").json()

    assert set(schema["properties"]) == {"course", "instructors", "course_runs"}
    assert "course" in schema["required"]
    run_schema = api.client.get("/api/v1/event-types/course_run.upsert/schema").json()
    assert set(run_schema["properties"]) >= {"course", "run"}


def test_unknown_event_type_schema_is_404(api: Api) -> None:
    response = api.client.get("/api/v1/event-types/course.delete/schema")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["code"] == "not_found"


def test_source_schema_of_a_canonical_source_is_the_canonical_schema(api: Api) -> None:
    response = api.client.get("/api/v1/sources/exec-ed/schema/product.upsert")

    assert response.status_code == 200
    canonical = api.client.get("/api/v1/event-types/product.upsert/schema").json()
    assert response.json() == canonical
    assert api.client.get("/api/v1/sources/nobody/schema/product.upsert").status_code == 404
    assert api.client.get("/api/v1/sources/exec-ed/schema/course.delete").status_code == 404
