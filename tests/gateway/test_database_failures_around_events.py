"""A database failure outside an event's own transaction is never a 500 nor a lost connection.

- while a key is authenticated, or a read is answered: 503 problem (`catalog_write_failed` for
  a request that sends events, `catalog_unavailable` otherwise), `Retry-After: 1`;
- while events are prepared (the source's profile and references): each event answered
  `failed`, `catalog_write_failed`, retryable — a single event with 503, a batch with 200 and
  an answer per event;
- while storing the answer of an event whose transaction failed: the answer is still sent;
- an error raised after a complete answer keeps the client's keep-alive connection open.

The failures are injected into the gateway's own database calls; the real-fault tests (a
killed server, terminated PostgreSQL connections) are in `tests/faults`.
"""

from __future__ import annotations

import json
import socket
from typing import Any, NoReturn

import pytest
from sqlalchemy.exc import OperationalError

from catalog_gateway.api import dependencies
from catalog_gateway.catalog.models import Course
from catalog_gateway.db.engine import Database
from catalog_gateway.events import log
from catalog_gateway.events.models import EventRecord
from catalog_gateway.gateway.service import EventGateway
from tests.gateway.conftest import PROBLEM_JSON, Api, Keys
from tests.gateway.payloads import envelope, instructor_payload, product_payload


def _database_down(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))


def _instructor_events(count: int) -> list[dict[str, Any]]:
    return [
        envelope(f"e-{n}", {"instructor": instructor_payload(f"in-{n}")}, "instructor.upsert")
        for n in range(count)
    ]


def _assert_unavailable(answer: dict[str, Any], event_id: str) -> None:
    assert (answer["event_id"], answer["status"], answer["retryable"]) == (event_id, "failed", True)
    assert [(e["code"], e["step"]) for e in answer["errors"]] == [
        ("catalog_write_failed", "catalog")
    ]
    assert "nothing was written" in answer["errors"][0]["message"]


def test_the_database_failing_while_a_key_is_checked_answers_503_catalog_write_failed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dependencies, "_lookup", _database_down)

    response = api.send(envelope("e-1", product_payload()))

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["Retry-After"] == "1"
    problem = response.json()
    assert (problem["status"], problem["code"]) == (503, "catalog_write_failed")
    assert "nothing was written" in problem["detail"]


def test_a_read_while_the_database_fails_answers_503_catalog_unavailable(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dependencies, "_lookup", _database_down)

    response = api.get("/events")

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "catalog_unavailable"


def test_the_database_failing_while_an_event_is_prepared_answers_it_503_and_writes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EventGateway, "_load_profile", _database_down)

    response = api.send(envelope("e-1", product_payload()))

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    _assert_unavailable(response.json(), "e-1")
    monkeypatch.undo()
    assert api.count(EventRecord) == 0
    assert api.count(Course) == 0


@pytest.mark.parametrize("policy", ["independent", "all_or_nothing"])
def test_a_batch_prepared_while_the_database_fails_is_answered_event_by_event(
    api: Api, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    monkeypatch.setattr(EventGateway, "_load_profile", _database_down)

    response = api.batch(_instructor_events(3), policy)

    assert response.status_code == 200, response.text
    body = response.json()
    for n, answer in enumerate(body["results"]):
        _assert_unavailable(answer, f"e-{n}")
    assert body["summary"]["failed"] == 3
    monkeypatch.undo()
    assert api.count(EventRecord) == 0


def test_an_independent_batch_whose_transactions_all_fail_answers_every_event(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch's transaction fails, then each event's own, then storing each one's answer.
    monkeypatch.setattr(log, "save", _database_down)

    response = api.batch(_instructor_events(3))

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["event_id"], r["status"], r["retryable"]) for r in results] == [
        (f"e-{n}", "failed", True) for n in range(3)
    ]
    assert {e["code"] for r in results for e in r["errors"]} == {"catalog_write_failed"}
    monkeypatch.undo()
    assert api.count(EventRecord) == 0

    again = api.batch(_instructor_events(3))

    assert [r["status"] for r in again.json()["results"]] == ["applied"] * 3


def _exchange(connection: socket.socket, path: str, headers: str = "") -> tuple[int, bytes]:
    """One GET on an open connection; its status and body (the connection stays open)."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n{headers}\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        assert chunk, "the server closed the connection"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(fields.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        body += chunk
    return int(lines[0].split()[1]), body


def _bug(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise RuntimeError("a bug")


def test_an_unexpected_error_keeps_the_keep_alive_connection_open(
    live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Database, "is_reachable", _bug)
    host, port = live_url.removeprefix("http://").split(":")

    with socket.create_connection((host, int(port)), timeout=10) as connection:
        failed, body = _exchange(connection, "/ready")
        after = _exchange(connection, "/health")  # the same connection

    assert failed == 500
    assert json.loads(body)["code"] == "internal_error"
    assert after == (200, b'{"status":"ok"}')


def test_a_database_failure_keeps_the_keep_alive_connection_open(
    live_url: str, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dependencies, "_lookup", _database_down)
    host, port = live_url.removeprefix("http://").split(":")
    authorization = f"Authorization: Bearer {keys.exec_ed}\r\n"

    with socket.create_connection((host, int(port)), timeout=10) as connection:
        failed, body = _exchange(connection, "/api/v1/events", authorization)
        after = _exchange(connection, "/health")

    assert failed == 503
    assert json.loads(body)["code"] == "catalog_unavailable"
    assert after == (200, b'{"status":"ok"}')
