"""Transactions that lose their database connection.

- once: the transaction runs again on a new connection, and the event is applied;
- after its COMMIT went through but its reply was lost: the events are found stored and
  answered from the event log, never `failed` for what was written;
- three events in a row, when a failed batch's events run one by one: the database is taken to
  be down and the rest of the batch is answered `catalog_write_failed` at once.

A lost connection is injected as the driver reports it (`connection_invalidated`); the
real-fault test (`pg_terminate_backend` under load) is in `tests/faults`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from catalog_gateway.catalog.models import Instructor
from catalog_gateway.db.engine import Database
from catalog_gateway.events import log
from catalog_gateway.events.models import EventRecord
from tests.gateway.conftest import Api
from tests.gateway.payloads import envelope, instructor_payload


def _lost() -> OperationalError:
    return OperationalError(
        "SELECT", {}, Exception("server closed the connection"), connection_invalidated=True
    )


def _instructors(count: int) -> list[dict[str, Any]]:
    return [
        envelope(f"e-{n}", {"instructor": instructor_payload(f"in-{n}")}, "instructor.upsert")
        for n in range(count)
    ]


@pytest.fixture
def commit_reply_lost(database: Database) -> Iterator[dict[str, Any]]:
    """Once `lost["pending"]` is set, the next COMMIT goes through and its reply is lost
    (raised as the driver does); `lost["invalidated"]` says whether the connection is reported
    lost."""
    lost: dict[str, Any] = {"pending": False, "invalidated": True}

    def after_commit(_session: Any) -> None:
        if lost["pending"]:
            lost["pending"] = False
            error = _lost()
            error.connection_invalidated = lost["invalidated"]
            raise error

    sessions = database._write_sessions  # the engine's units of work
    event.listen(sessions, "after_commit", after_commit)
    yield lost
    event.remove(sessions, "after_commit", after_commit)


@pytest.mark.parametrize("invalidated", [True, False], ids=["run-again", "stored-alone"])
def test_a_commit_whose_reply_was_lost_is_answered_what_it_wrote(
    api: Api, commit_reply_lost: dict[str, Any], invalidated: bool
) -> None:
    assert api.get("/events").status_code == 200  # the key is known: no commit of its own
    commit_reply_lost.update(pending=True, invalidated=invalidated)
    (event_,) = _instructors(1)

    response = api.send(event_)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["status"], answer["replayed"], answer["errors"]) == ("applied", True, [])
    assert api.count(Instructor) == 1
    assert api.event("e-0")["status"] == "applied"
    assert commit_reply_lost["pending"] is False  # the fault did happen


def test_a_transaction_that_loses_its_connection_once_runs_again(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = log.records_of
    calls = {"n": 0}

    def records_of(*args: Any, **kwargs: Any) -> log.Records:
        calls["n"] += 1
        if calls["n"] == 1:
            raise _lost()
        return real(*args, **kwargs)

    monkeypatch.setattr(log, "records_of", records_of)

    response = api.batch(_instructors(3))

    assert [r["status"] for r in response.json()["results"]] == ["applied"] * 3
    assert calls["n"] == 2  # the batch's transaction, twice; not one by one
    assert api.count(Instructor) == 3


def test_a_batch_stops_waiting_on_a_database_that_is_gone(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[list[str]] = []

    def records_of(_session: Any, _source_id: int, event_ids: list[str]) -> NoReturn:
        tried.append(sorted(event_ids))
        raise _lost()

    monkeypatch.setattr(log, "records_of", records_of)

    response = api.batch(_instructors(6))

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["event_id"], r["status"], r["retryable"]) for r in results] == [
        (f"e-{n}", "failed", True) for n in range(6)
    ]
    assert {e["code"] for r in results for e in r["errors"]} == {"catalog_write_failed"}
    # The batch (twice), then e-0, e-1, e-2 alone (twice each, and once more to store each
    # answer); e-3 to e-5 are not tried.
    alone = [ids for ids in tried if len(ids) == 1]
    assert tried[:2] == [[f"e-{n}" for n in range(6)]] * 2
    assert alone == [["e-0"]] * 3 + [["e-1"]] * 3 + [["e-2"]] * 3
    monkeypatch.undo()
    assert api.count(EventRecord) == 0
