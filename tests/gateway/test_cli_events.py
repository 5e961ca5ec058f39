"""`catalog-gateway events purge` and `events replay` on the test database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from tests.gateway.conftest import Api, Cli
from tests.gateway.payloads import envelope, instructor_payload, occurred, product_payload
from tests.gateway.test_failures import break_seats


def age(database: Database, event_id: str, by: timedelta, status: str | None = None) -> None:
    """Pretend the event was received `by` ago (and, optionally, is in another status)."""
    values: dict[str, object] = {"received_at": utcnow() - by}
    if status is not None:
        values["status"] = status
    with database.unit_of_work() as session:
        session.execute(
            update(EventRecord).where(EventRecord.event_id == event_id).values(**values)
        )


def stored_ids(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(session.scalars(select(EventRecord.event_id)))


@pytest.fixture
def three_events(api: Api) -> None:
    for n in range(3):
        event = envelope(
            f"e-{n}",
            {"instructor": instructor_payload(f"in-{n}")},
            "instructor.upsert",
            occurred(n),
        )
        assert api.send(event).status_code == 200


def test_events_purge_deletes_records_older_than_the_duration(
    api: Api, database: Database, run_cli: Cli, three_events: None
) -> None:
    age(database, "e-0", timedelta(days=2))
    age(database, "e-1", timedelta(days=2), status="in_progress")  # still running: kept

    result = run_cli("events", "purge", "--older-than", "1d")

    assert result.exit_code == 0, result.output
    assert "1 event records" in result.output
    assert stored_ids(database) == ["e-1", "e-2"]
    assert [r["event_id"] for r in api.event_log()] == ["e-1", "e-2"]

    age(database, "e-2", timedelta(seconds=5))
    result = run_cli("events", "purge", "--older-than", "1s")

    assert result.exit_code == 0, result.output
    assert stored_ids(database) == ["e-1"]


@pytest.mark.parametrize("duration", ["soon", "0d", "10y", "-1h"])
def test_events_purge_refuses_an_invalid_duration(
    database: Database, run_cli: Cli, three_events: None, duration: str
) -> None:
    for n in range(3):
        age(database, f"e-{n}", timedelta(days=400))

    result = run_cli("events", "purge", "--older-than", duration)

    assert result.exit_code != 0
    assert stored_ids(database) == ["e-0", "e-1", "e-2"]


def test_events_replay_resumes_a_failed_retryable_event(
    api: Api, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_seats(monkeypatch)
    assert api.send(envelope("e-1", product_payload())).status_code == 503
    monkeypatch.undo()
    assert api.course() is None

    result = run_cli("events", "replay", "e-1", "--source", "exec-ed")

    assert result.exit_code == 0, result.output
    assert "event e-1: applied" in result.output
    course = api.course()
    assert course is not None
    assert len(course["course_runs"]) == 2
    record = api.event("e-1")
    assert (record["status"], record["attempts"]) == ("applied", 2)


def test_events_replay_of_an_applied_event_exits_1(api: Api, run_cli: Cli) -> None:
    assert api.send(envelope("e-1", product_payload())).status_code == 200

    result = run_cli("events", "replay", "e-1", "--source", "exec-ed")

    assert result.exit_code == 1
    assert "applied" in result.output
    assert api.event("e-1")["attempts"] == 1


def test_events_replay_of_an_unknown_event_exits_1(api: Api, run_cli: Cli) -> None:
    result = run_cli("events", "replay", "e-404", "--source", "exec-ed")

    assert result.exit_code == 1
    assert "e-404" in result.output
