"""A database failure while applying an event: answered `failed`, retryable, and resumed by
sending the same event again.

In the catalog steps (or in a publication that joins their transaction) nothing is written;
in the publication after ecommerce was called, the catalog writes are kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, NoReturn

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError

from catalog_gateway.api.app import create_app
from catalog_gateway.catalog.models import Course, CourseRun, Instructor, Seat
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.settings import Settings
from tests.ecommerce.server import Ecommerce, start_server
from tests.factories import url_of
from tests.gateway.conftest import Api, Keys
from tests.gateway.payloads import (
    CONTRACT_ORDER,
    COURSE_KEY,
    GO_LIVE_RUN_0,
    RUN_KEYS,
    envelope,
    expected_run_status,
    product_payload,
)


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


# --- a database failure in the publication (course_run.publish) -----------------------------

REFUSAL = "the database refuses to publish course runs"


@contextmanager
def publication_refused(database: Database) -> Iterator[None]:
    """Make the database itself refuse to store a published run.

    Triggers on both backends, raising a constraint violation only when a run's status moves
    to `reviewed` or `published`, or a run is inserted so (a new run published in the catalog
    transaction is written once, published): writing unpublished runs, and anything else,
    still works.
    """
    if database.is_sqlite:
        create = [
            f"""
            CREATE TRIGGER refuse_run_publication
            BEFORE UPDATE OF status ON course_runs
            WHEN NEW.status IN ('reviewed', 'published') AND NEW.status <> OLD.status
            BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END
            """,
            f"""
            CREATE TRIGGER refuse_run_publication_insert
            BEFORE INSERT ON course_runs
            WHEN NEW.status IN ('reviewed', 'published')
            BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END
            """,
        ]
        drop = [
            "DROP TRIGGER IF EXISTS refuse_run_publication",
            "DROP TRIGGER IF EXISTS refuse_run_publication_insert",
        ]
    else:
        create = [
            f"""
            CREATE FUNCTION refuse_run_publication() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'check_violation'; END $$
            """,
            """
            CREATE TRIGGER refuse_run_publication
            BEFORE UPDATE OF status ON course_runs FOR EACH ROW
            WHEN (NEW.status IN ('reviewed', 'published') AND NEW.status <> OLD.status)
            EXECUTE FUNCTION refuse_run_publication()
            """,
            """
            CREATE TRIGGER refuse_run_publication_insert
            BEFORE INSERT ON course_runs FOR EACH ROW
            WHEN (NEW.status IN ('reviewed', 'published'))
            EXECUTE FUNCTION refuse_run_publication()
            """,
        ]
        drop = [
            "DROP TRIGGER IF EXISTS refuse_run_publication ON course_runs",
            "DROP TRIGGER IF EXISTS refuse_run_publication_insert ON course_runs",
            "DROP FUNCTION IF EXISTS refuse_run_publication()",
        ]
    with database.writer.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with database.writer.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))


@pytest.fixture(scope="module")
def ecommerce(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ecommerce]:
    """The reference ecommerce server, as a real process (see tests/ecommerce)."""
    directory = tmp_path_factory.mktemp("ecommerce")
    server = start_server(directory / "products.json", directory / "server.log")
    try:
        yield Ecommerce(server.url, server.data_path)
    finally:
        server.stop()


@pytest.fixture
def with_ecommerce(database: Database, keys: Keys, ecommerce: Ecommerce) -> Iterator[Api]:
    """The service with ecommerce configured: a product with paid seats is published to it
    after the catalog transaction commits, then the runs in a transaction of their own."""
    ecommerce.clear_faults()
    ecommerce.clear_products()
    settings = Settings(
        database_url=url_of(database), ecommerce_url=ecommerce.url, ecommerce_budget_seconds=3
    )
    with TestClient(create_app(settings, database)) as client:
        yield Api(client=client, database=database, keys=keys)


def catalog_write_failed(response: httpx.Response, message: str) -> dict[str, Any]:
    """The answer, after checking it is a retryable 503 `catalog_write_failed` saying `message`,
    with the whole trace in contract order."""
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    answer: dict[str, Any] = response.json()
    assert (answer["status"], answer["retryable"]) == ("failed", True)
    assert [(e["code"], e["message"]) for e in answer["errors"]] == [
        ("catalog_write_failed", message)
    ]
    assert [step["name"] for step in answer["steps"]] == CONTRACT_ORDER
    return answer


def test_database_failure_while_publishing_keeps_the_catalog_writes_and_is_retryable(
    with_ecommerce: Api, ecommerce: Ecommerce
) -> None:
    """The catalog phase committed and ecommerce published, then the database fails in
    course_run.publish: the caller gets an answer it can act on, and the log keeps it."""
    api = with_ecommerce
    event = envelope("e-1", product_payload())

    with publication_refused(api.database):
        response = api.send(event)

    answer = catalog_write_failed(
        response,
        "the catalog database failed while publishing the runs; the catalog writes are kept, "
        "send the same event again to finish",
    )
    ran = [(s["name"], s["status"]) for s in answer["steps"] if s["name"] != "course_run.publish"]
    assert all(status == "ok" for _, status in ran), answer["steps"]
    # Kept: the catalog phase's writes, and the SKUs ecommerce gave (stored by its steps).
    course = api.course()
    assert course is not None
    runs = {run["key"]: run for run in course["course_runs"]}
    assert sorted(runs) == sorted(RUN_KEYS)
    for run_key, run in runs.items():
        assert run["status"] == "unpublished", run_key
        [seat] = run["seats"]
        [server_seat] = [p for p in ecommerce.products(run_key) if p["product_class"] == "Seat"]
        assert seat["sku"] == server_seat["partner_sku"], run_key
    assert api.count(Instructor) == 3
    record = api.event("e-1")
    assert (record["status"], record["retryable"], record["attempts"]) == ("failed", True, 1)
    assert record["errors"] == answer["errors"]

    resumed = api.send(event)

    assert resumed.status_code == 200, resumed.text
    assert "Idempotent-Replayed" not in resumed.headers
    answer = resumed.json()
    assert (answer["status"], answer["errors"]) == ("applied", [])
    publication = [s for s in answer["steps"] if s["name"] == "course_run.publish"]
    assert [(s["status"], s["action"]) for s in publication] == [("ok", "updated")] * 2
    course = api.course(COURSE_KEY)
    assert course is not None
    assert {run["key"]: run["status"] for run in course["course_runs"]} == {
        RUN_KEYS[0]: expected_run_status(GO_LIVE_RUN_0),
        RUN_KEYS[1]: "published",
    }
    record = api.event("e-1")
    assert (record["status"], record["retryable"], record["attempts"]) == ("applied", False, 2)


def test_without_ecommerce_a_database_failure_while_publishing_writes_nothing(api: Api) -> None:
    """With no external call to make, the publication joins the catalog transaction: a failure
    in course_run.publish undoes the catalog writes too, and the event is sent again whole."""
    event = envelope("e-1", product_payload())

    with publication_refused(api.database):
        response = api.send(event)

    answer = catalog_write_failed(
        response,
        "the catalog database failed while applying this event; nothing was written, "
        "send the same event again",
    )
    for step in answer["steps"][2:10]:  # the catalog steps, undone with the publication
        assert step["detail"].startswith("rolled back"), step
    assert api.course() is None
    for model in (Course, CourseRun, Seat, Instructor):
        assert api.count(model) == 0, model
    record = api.event("e-1")
    assert (record["status"], record["retryable"], record["attempts"]) == ("failed", True, 1)

    resumed = api.send(event)

    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "applied"
    course = api.course()
    assert course is not None
    assert {run["key"]: run["status"] for run in course["course_runs"]} == {
        RUN_KEYS[0]: expected_run_status(GO_LIVE_RUN_0),
        RUN_KEYS[1]: "published",
    }
    record = api.event("e-1")
    assert (record["status"], record["retryable"], record["attempts"]) == ("applied", False, 2)


@pytest.mark.parametrize("service", ["api", "with_ecommerce"])
def test_a_publication_the_database_refused_is_not_reported_as_done(
    service: str, database: Database, request: pytest.FixtureRequest
) -> None:
    """Whether the publication ran inline or after the catalog commit, no run was published,
    so no course_run.publish step may say it was done: inline, the publication is written with
    the catalog writes, and the trace says they were all rolled back; after the commit, each
    run is published on its own, and the first refusal fails its step (the next is skipped)."""
    api: Api = request.getfixturevalue(service)

    with publication_refused(database):
        answer = api.send(envelope("e-1", product_payload())).json()

    publication = [s for s in answer["steps"] if s["name"] == "course_run.publish"]
    if service == "api":
        assert [(s["status"], s["detail"]) for s in publication] == [
            ("ok", "rolled back: the catalog database failed")
        ] * 2, publication
    else:
        assert [(s["status"], s["action"]) for s in publication] == [
            ("failed", None),
            ("skipped", None),
        ], publication
