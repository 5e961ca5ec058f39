"""What fails after an event's catalog commit — storing its answer, or the gateway itself — is
answered for that event alone, and never leaves it stuck or forgotten.

- storing the answer is tried again while the database fails; if it still fails, the event is
  answered what it did, with a warning `answer_not_stored`, and its record stays
  `in_progress` with the catalog steps it committed;
- an event resumed from such a record answers what the attempt that committed did;
- a bug after the commit fails that event only (`internal_error`, retryable: its catalog writes
  are kept, and sending it again resumes it); the batch's other events are answered as usual.

The database failures are injected in the gateway's own calls (`log.finish`); the real-fault
tests (a killed server, terminated connections) are in `tests/faults`.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.events import log
from catalog_gateway.events.models import EventRecord
from catalog_gateway.gateway import engine, resumed
from tests.ecommerce.payloads import COURSE_KEY, RUN_KEYS, envelope, product_payload
from tests.ecommerce.server import Ecommerce, by_class
from tests.ecommerce.support import Gateway, runs_by_key, steps_named
from tests.factories import bearer

CATALOG_STEPS = ("instructor.upsert", "course.upsert", "course_run.upsert", "seat.upsert")
ORIGINAL_FINISH = log.finish


def _finish_failing(times: int | None) -> Any:
    """`log.finish` that fails `times` times (None: always) as a lost connection does."""
    calls = {"failed": 0}

    def finish(*args: Any, **kwargs: Any) -> None:
        if times is None or calls["failed"] < times:
            calls["failed"] += 1
            raise OperationalError("UPDATE event_records", {}, Exception("connection lost"))
        ORIGINAL_FINISH(*args, **kwargs)

    return finish


def _record(database: Database, event_id: str) -> SimpleNamespace:
    """The event's record as stored (what the tests look at)."""
    with database.read() as session:
        record = session.scalar(select(EventRecord).where(EventRecord.event_id == event_id))
        assert record is not None
        return SimpleNamespace(
            status=record.status,
            retryable=record.retryable,
            attempts=record.attempts,
            steps=record.steps,
            products=record.products,
            earlier_attempts=record.earlier_attempts,
        )


def _claimed_ago(database: Database, event_id: str, ago: timedelta) -> None:
    with database.unit_of_work() as session:
        session.execute(
            update(EventRecord)
            .where(EventRecord.event_id == event_id)
            .values(updated_at=utcnow() - ago)
        )


def test_an_answer_the_database_refused_for_a_moment_is_stored_when_it_is_back(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    monkeypatch.setattr(log, "finish", _finish_failing(times=2))

    response = gateway.send(envelope("evt-1", product_payload()))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["status"], answer["warnings"]) == ("applied", [])
    record = _record(database, "evt-1")
    assert (record.status, record.attempts) == ("applied", 1)
    assert record.steps == answer["steps"]


def test_an_answer_that_cannot_be_stored_is_sent_with_a_warning_and_resumes_what_it_did(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, database: Database, ecommerce: Ecommerce
) -> None:
    monkeypatch.setattr(resumed, "STORE_ANSWER_SECONDS", 0.3)
    monkeypatch.setattr(log, "finish", _finish_failing(times=None))
    event = envelope("evt-1", product_payload())

    response = gateway.send(event)

    # What the event did: applied and published; only its record could not be written.
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert [(w["code"], w["step"]) for w in answer["warnings"]] == [
        ("answer_not_stored", "event_log")
    ]
    course = gateway.course()
    assert course is not None
    assert {run["status"] for run in runs_by_key(course).values()} == {"published"}
    # The record kept what the committed transaction did.
    record = _record(database, "evt-1")
    assert record.status == "in_progress"
    committed = [(s["name"], s["action"]) for s in record.steps if s["name"] in CATALOG_STEPS]
    assert ("course.upsert", "created") in committed
    assert [s["action"] for s in record.steps if s["name"] == "course_run.upsert"] == [
        "created",
        "created",
    ]
    assert record.products["courses"] == [COURSE_KEY]
    assert sorted(record.products["course_runs"]) == sorted(RUN_KEYS)
    busy = gateway.send(event)  # within its lease: still someone else's
    assert busy.status_code == 409, busy.text
    assert [e["code"] for e in busy.json()["errors"]] == ["event_in_progress"]

    monkeypatch.setattr(log, "finish", ORIGINAL_FINISH)
    _claimed_ago(database, "evt-1", timedelta(minutes=3))  # the lease is 2 minutes
    again = gateway.send(event)

    assert again.status_code == 200, again.text
    resumed_answer = again.json()
    assert (resumed_answer["status"], resumed_answer["warnings"]) == ("applied", [])
    course_step = steps_named(resumed_answer, "course.upsert")[0]
    assert course_step["action"] == "created"
    assert course_step["detail"] == "created by attempt 1, which stopped before it was answered"
    assert [s["action"] for s in steps_named(resumed_answer, "course_run.upsert")] == [
        "created",
        "created",
    ]
    assert resumed_answer["products"]["courses"] == [COURSE_KEY]
    assert sorted(resumed_answer["products"]["course_runs"]) == sorted(RUN_KEYS)
    record = _record(database, "evt-1")
    assert (record.status, record.attempts) == ("applied", 2)
    assert [attempt["status"] for attempt in record.earlier_attempts] == ["in_progress"]
    # Published once: the resumption found the products ecommerce already had.
    for run_key in RUN_KEYS:
        assert len(by_class(ecommerce.products(run_key), "Seat")) == 1


def _bug(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise RuntimeError("a bug after the commit")


def test_a_bug_after_the_commit_fails_that_event_only_and_resending_it_resumes(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    calls = {"n": 0}
    real_after_commit = engine.after_commit

    def after_commit(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the second event of the batch
            _bug()
        return real_after_commit(*args, **kwargs)

    monkeypatch.setattr(engine, "after_commit", after_commit)
    events = [
        envelope(f"evt-{n}", product_payload(number=f"DS10{n}", external_id=f"xe-700{n}"))
        for n in (1, 2, 3)
    ]

    response = gateway.client.post(
        "/api/v1/events/batch", json={"events": events}, headers=bearer(gateway.api_key)
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "failed", "applied"]
    failed = results[1]
    assert failed["retryable"] is True
    assert [(e["code"], e["step"]) for e in failed["errors"]] == [("internal_error", "catalog")]
    assert "the catalog writes are kept" in failed["errors"][0]["message"]
    # Its catalog writes are kept, unpublished; its record says failed, retryable.
    course = gateway.course("MITx+DS102")
    assert course is not None
    assert {run["status"] for run in runs_by_key(course).values()} == {"unpublished"}
    record = _record(database, "evt-2")
    assert (record.status, record.retryable) == ("failed", True)

    monkeypatch.setattr(engine, "after_commit", real_after_commit)
    again = gateway.send(events[1])

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "applied"
    course = gateway.course("MITx+DS102")
    assert course is not None
    assert {run["status"] for run in runs_by_key(course).values()} == {"published"}
    assert _record(database, "evt-2").attempts == 2


def test_a_single_event_failing_unexpectedly_after_its_commit_is_answered_500_with_its_answer(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "after_commit", _bug)

    response = gateway.send(envelope("evt-1", product_payload()))

    assert response.status_code == 500, response.text
    answer = response.json()
    assert (answer["event_id"], answer["status"], answer["retryable"]) == ("evt-1", "failed", True)
    assert [e["code"] for e in answer["errors"]] == ["internal_error"]
    assert gateway.course() is not None  # its catalog writes are kept


def test_an_event_interrupted_twice_still_says_which_attempt_did_the_work(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    monkeypatch.setattr(resumed, "STORE_ANSWER_SECONDS", 0.2)
    monkeypatch.setattr(log, "finish", _finish_failing(times=None))
    event = envelope("evt-1", product_payload())
    assert gateway.send(event).status_code == 200  # attempt 1: its answer not stored
    _claimed_ago(database, "evt-1", timedelta(minutes=3))
    second = gateway.send(event)  # attempt 2: resumed, its answer not stored either
    assert second.status_code == 200, second.text
    assert _record(database, "evt-1").status == "in_progress"

    monkeypatch.setattr(log, "finish", ORIGINAL_FINISH)
    _claimed_ago(database, "evt-1", timedelta(minutes=3))
    third = gateway.send(event)

    assert third.status_code == 200, third.text
    course_step = steps_named(third.json(), "course.upsert")[0]
    assert (course_step["action"], course_step["detail"]) == (
        "created",
        "created by attempt 1, which stopped before it was answered",
    )
    record = _record(database, "evt-1")
    assert (record.status, record.attempts) == ("applied", 3)
    assert [attempt["status"] for attempt in record.earlier_attempts] == [
        "in_progress",
        "in_progress",
    ]


def _batch(gateway: Gateway, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = gateway.client.post(
        "/api/v1/events/batch", json={"events": events}, headers=bearer(gateway.api_key)
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _products(count: int) -> list[dict[str, Any]]:
    return [
        envelope(f"evt-{n}", product_payload(number=f"DS10{n}", external_id=f"xe-700{n}"))
        for n in range(1, count + 1)
    ]


def test_once_an_answer_of_a_batch_cannot_be_stored_the_others_are_tried_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    monkeypatch.setattr(resumed, "STORE_ANSWER_SECONDS", 0.3)
    tries: list[int] = []

    def finish(_database: Database, record_id: int, *_args: Any) -> None:
        tries.append(record_id)
        raise OperationalError("UPDATE event_records", {}, Exception("the database is gone"))

    monkeypatch.setattr(log, "finish", finish)

    results = _batch(gateway, _products(3))

    assert [r["status"] for r in results] == ["applied"] * 3
    for result in results:
        assert [w["code"] for w in result["warnings"]] == ["answer_not_stored"]
    first, *others = sorted(set(tries), key=tries.index)
    assert tries.count(first) > 1  # tried again for a while
    assert [tries.count(record_id) for record_id in others] == [1, 1]  # then once each
    assert {_record(database, f"evt-{n}").status for n in (1, 2, 3)} == {"in_progress"}


def test_a_bug_while_an_answer_is_concluded_fails_that_event_and_keeps_its_record(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    real_store = resumed.Patience.store

    def store(self: resumed.Patience, db: Database, record_id: int, answer: Any, *rest: Any) -> Any:
        if answer.event_id == "evt-1":
            raise RuntimeError("a bug while storing")
        return real_store(self, db, record_id, answer, *rest)

    monkeypatch.setattr(resumed.Patience, "store", store)

    results = _batch(gateway, _products(2))

    assert [(r["status"], r["retryable"]) for r in results] == [
        ("failed", True),
        ("applied", False),
    ]
    assert [e["code"] for e in results[0]["errors"]] == ["internal_error"]
    # Not deleted: its record keeps what its transaction committed, resumed after the lease.
    record = _record(database, "evt-1")
    assert record.status == "in_progress"
    assert ("course.upsert", "created") in [(s["name"], s["action"]) for s in record.steps]
    assert _record(database, "evt-2").status == "applied"
