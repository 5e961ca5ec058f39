"""A database failure in the middle of the catalog steps: nothing written, send it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NoReturn

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from catalog_gateway.catalog.models import Course, CourseRun, Instructor, Seat
from catalog_gateway.db.base import utcnow
from catalog_gateway.events.models import EventRecord
from tests.gateway.conftest import Api, bearer
from tests.gateway.payloads import RUN_KEYS, envelope, product_payload


def _database_down(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise OperationalError("UPDATE seats", {}, Exception("boom"))


def break_seats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the seat step fail as if the database went away."""
    monkeypatch.setattr("catalog_gateway.gateway.plans.sync_seats", _database_down)


def test_database_failure_mid_catalog_writes_nothing_and_is_retryable(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_seats(monkeypatch)

    response = api.send(envelope("e-1", product_payload()))

    assert response.status_code == 503, response.text
    answer = response.json()
    assert answer["status"] == "failed"
    assert answer["retryable"] is True
    assert [error["code"] for error in answer["errors"]] == ["catalog_write_failed"]
    steps = answer["steps"]
    statuses = [(step["name"], step["status"]) for step in steps]
    assert statuses == [
        ("transform", "ok"),
        ("validate", "ok"),
        ("instructor.upsert", "ok"),
        ("instructor.upsert", "ok"),
        ("instructor.upsert", "ok"),
        ("course.upsert", "ok"),
        ("course_run.upsert", "ok"),
        ("course_run.upsert", "ok"),
        ("seat.upsert", "failed"),
        ("seat.upsert", "skipped"),
        ("ecommerce.publish", "skipped"),
        ("ecommerce.publish", "skipped"),
        ("course_run.publish", "skipped"),
        ("course_run.publish", "skipped"),
    ]
    for step in steps[2:8]:  # the catalog steps that ran were undone
        assert step["detail"].startswith("rolled back"), step
    assert api.course() is None
    for model in (Course, CourseRun, Seat, Instructor):
        assert api.count(model) == 0, model
    record = api.event("e-1")
    assert (record["status"], record["retryable"], record["attempts"]) == ("failed", True, 1)


def test_same_event_sent_again_after_a_database_failure_resumes_and_applies(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = envelope("e-1", product_payload())
    break_seats(monkeypatch)
    assert api.send(event).status_code == 503
    monkeypatch.undo()

    response = api.send(event)

    assert response.status_code == 200, response.text
    assert "Idempotent-Replayed" not in response.headers
    answer = response.json()
    assert answer["status"] == "applied"
    assert answer["errors"] == []
    seat_steps = [step for step in answer["steps"] if step["name"] == "seat.upsert"]
    assert [(s["status"], s["action"]) for s in seat_steps] == [("ok", "created")] * 2
    course = api.course()
    assert course is not None
    assert sorted(run["key"] for run in course["course_runs"]) == sorted(RUN_KEYS)
    assert all(run["seats"] for run in course["course_runs"])
    assert api.count(Instructor) == 3
    record = api.event("e-1")
    assert (record["status"], record["retryable"], record["attempts"]) == ("applied", False, 2)


def _left_in_progress(api: Api, event_id: str, since: timedelta) -> None:
    """Leave the record as a process that died while applying it `since` ago would have."""
    with api.database.unit_of_work() as session:
        session.execute(
            update(EventRecord)
            .where(EventRecord.event_id == event_id)
            .values(status="in_progress", updated_at=utcnow() - since)
        )


def test_event_in_progress_is_a_conflict_until_its_lease_expires_then_resumes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = envelope("e-1", product_payload())
    break_seats(monkeypatch)
    assert api.send(event).status_code == 503
    monkeypatch.undo()
    _left_in_progress(api, "e-1", timedelta(seconds=1))

    busy = api.send(event)

    assert busy.status_code == 409, busy.text
    answer = busy.json()
    assert (answer["status"], answer["retryable"]) == ("conflict", True)
    assert [e["code"] for e in answer["errors"]] == ["event_in_progress"]
    assert api.course() is None

    _left_in_progress(api, "e-1", timedelta(minutes=3))  # the lease is 120 s
    resumed = api.send(event)

    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "applied"
    assert api.course() is not None
    record = api.event("e-1")
    assert (record["status"], record["attempts"]) == ("applied", 2)


def test_database_failure_while_publishing_is_answered_and_logged_not_a_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog phase committed, then the database fails in course_run.publish.

    The caller must still get an event answer it can act on (failed, retryable) and the event
    log must keep it, so that sending the same event again resumes the publication.
    """
    monkeypatch.setattr("catalog_gateway.gateway.plans.publish", _database_down)
    event = envelope("e-1", product_payload())
    client = TestClient(api.client.app, raise_server_exceptions=False)

    response = client.post("/api/v1/events", json=event, headers=bearer(api.keys.exec_ed))

    assert response.status_code in (502, 503), response.text
    answer = response.json()
    assert (answer["status"], answer["retryable"]) == ("failed", True)
    record = api.event("e-1")
    assert (record["status"], record["retryable"]) == ("failed", True)

    monkeypatch.undo()
    resumed = api.send(event)
    assert resumed.status_code == 200, resumed.text
    assert [s["action"] for s in resumed.json()["steps"] if s["name"] == "course_run.publish"] == [
        "updated",
        "updated",
    ]
