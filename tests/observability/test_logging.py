"""Structured logs (issue 7): a request id on every answer and in every line, one JSON line per
request and one per event answer with the documented fields, and no key, token, cookie or
payload anywhere in the output. The lines are read from standard error, as rendered."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from catalog_gateway.db.engine import Database
from catalog_gateway.observability.logging import REDACTED, configure_logging
from tests.factories import bearer
from tests.observability.conftest import ClientFactory, log_lines
from tests.protection.conftest import add_source, fresh_window, instructor_event, post_event

MARKER = "Zyxwvut-Payload-Marker"
REQUEST_FIELDS = {"method", "route", "status", "duration_ms", "request_id", "source", "client"}
EVENT_FIELDS = {
    "source",
    "event_id",
    "event_type",
    "status",
    "http_status",
    "duration_ms",
    "request_id",
    "replayed",
}
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def _lines_of(captured: str, request_id: str, kind: str) -> list[dict[str, Any]]:
    return [
        line
        for line in log_lines(captured)
        if line.get("request_id") == request_id and line["event"] == kind
    ]


@pytest.fixture
def key(database: Database) -> str:
    return add_source(database, "exec-ed")


def test_request_id_sent_by_the_client_is_returned_and_logged(
    make_client: ClientFactory, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()

    response = client.get("/api/v1/courses", headers={"X-Request-ID": "lob-trace-42"})

    assert response.headers["X-Request-ID"] == "lob-trace-42"
    [line] = _lines_of(capsys.readouterr().err, "lob-trace-42", "request")
    assert (line["method"], line["route"], line["status"]) == ("GET", "/api/v1/courses", 200)


@pytest.mark.parametrize(
    "sent",
    [None, b"", b"x" * 129, b"has space", "na\u00efve".encode()],
    ids=["absent", "empty", "too-long", "space", "not-ascii"],
)
def test_request_id_is_generated_when_absent_or_invalid(
    make_client: ClientFactory, key: str, capsys: pytest.CaptureFixture[str], sent: bytes | None
) -> None:
    client = make_client()
    headers = [(b"X-Request-ID", sent)] if sent is not None else []

    first = client.get("/api/v1/courses", headers=headers)
    second = client.get("/api/v1/courses", headers=headers)

    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(GENERATED_ID.fullmatch(request_id) for request_id in ids), ids
    assert ids[0] != ids[1]
    captured = capsys.readouterr().err
    assert [len(_lines_of(captured, request_id, "request")) for request_id in ids] == [1, 1]


def test_one_line_per_request_and_per_event_with_the_listed_fields(
    make_client: ClientFactory, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    single = {"X-Request-ID": "req-single", **bearer(key)}
    batch = {"X-Request-ID": "req-batch", **bearer(key)}

    client.post("/api/v1/events", json=instructor_event("e-1", "in-1"), headers=single)
    client.post(
        "/api/v1/events/batch",
        json={
            "events": [
                instructor_event("e-2", "in-2"),
                instructor_event("e-3", "in-3", given_name=""),
            ]
        },
        headers=batch,
    )
    captured = capsys.readouterr().err

    [request] = _lines_of(captured, "req-single", "request")
    assert request.keys() >= REQUEST_FIELDS
    assert {k: request[k] for k in REQUEST_FIELDS - {"duration_ms"}} == {
        "method": "POST",
        "route": "/api/v1/events",
        "status": 200,
        "source": "exec-ed",
        "client": "testclient",
        "request_id": "req-single",
    }
    assert request["duration_ms"] > 0
    [event] = _lines_of(captured, "req-single", "event")
    assert event.keys() >= EVENT_FIELDS
    assert {k: event[k] for k in EVENT_FIELDS - {"duration_ms"}} == {
        "source": "exec-ed",
        "event_id": "e-1",
        "event_type": "instructor.upsert",
        "status": "applied",
        "http_status": 200,
        "request_id": "req-single",
        "replayed": False,
    }
    assert len(_lines_of(captured, "req-batch", "request")) == 1
    batch_events = _lines_of(captured, "req-batch", "event")
    assert [(e["event_id"], e["status"], e["http_status"]) for e in batch_events] == [
        ("e-2", "applied", 200),
        ("e-3", "rejected", 422),
    ]


def test_logs_hold_no_key_token_cookie_or_payload(
    make_client: ClientFactory, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    sensitive = {"Cookie": "session=cookie-secret-value", **bearer(key)}
    fresh_window()

    client.post(
        "/api/v1/events", json=instructor_event("e-1", "in-1", bio=MARKER), headers=sensitive
    )
    client.post(
        "/api/v1/events",
        json=instructor_event("e-2", "in-2", given_name="", bio=MARKER),
        headers=sensitive,
    )
    client.post("/api/v1/events", json=instructor_event("e-3", "in-3"), headers=bearer("cg_nope"))
    client.get("/api/v1/courses", headers=sensitive)
    captured = capsys.readouterr().err

    assert len(log_lines(captured)) >= 6  # 4 requests, 2 events: all of it JSON
    for secret in (key, "cg_nope", "Bearer", "cookie-secret-value", MARKER, "payload"):
        assert secret not in captured


def test_an_unexpected_error_is_answered_with_the_request_id_and_logged(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_client().app
    monkeypatch.setattr(Database, "is_reachable", _broken)

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/ready", headers={"X-Request-ID": "req-boom"})

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert response.headers["X-Request-ID"] == "req-boom"
    [line] = _lines_of(capsys.readouterr().err, "req-boom", "request")
    assert (line["status"], line["level"], line["route"]) == (500, "error", "/ready")


def _broken(_database: Database) -> bool:
    raise RuntimeError("the probe broke")


def test_the_429_and_its_source_are_logged(
    make_client: ClientFactory, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    flood = add_source(database, "flood", rate="1/second", burst=1)
    client = make_client()
    fresh_window()

    post_event(client, instructor_event("f-1", "in-1"), flood)
    refused = client.post(
        "/api/v1/events",
        json=instructor_event("f-2", "in-2"),
        headers={"X-Request-ID": "req-flood", **bearer(flood)},
    )

    assert refused.status_code == 429
    [line] = _lines_of(capsys.readouterr().err, "req-flood", "request")
    assert (line["status"], line["route"], line["source"]) == (429, "/api/v1/events", "flood")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    configure_logging("INFO", "json")


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_when_not_on_a_terminal_and_readable_lines_on_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe, terminal = io.StringIO(), _Terminal()

    monkeypatch.setattr("sys.stderr", pipe)
    configure_logging("INFO", "auto")
    structlog.get_logger().info("hello", answer=42)
    logging.getLogger("some.library").warning("from a library")
    monkeypatch.setattr("sys.stderr", terminal)
    configure_logging("INFO", "auto")
    structlog.get_logger().info("hello", answer=42)

    first, second = (json.loads(line) for line in pipe.getvalue().splitlines())
    assert first | {"timestamp": None} == {
        "event": "hello",
        "answer": 42,
        "level": "info",
        "timestamp": None,
    }
    assert (second["event"], second["logger"], second["level"]) == (
        "from a library",
        "some.library",
        "warning",
    )
    readable = terminal.getvalue()
    assert "hello" in readable
    assert "answer" in readable
    assert not readable.lstrip().startswith("{")


@pytest.mark.usefixtures("restore_logging")
def test_a_field_named_like_a_secret_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    output = io.StringIO()
    monkeypatch.setattr("sys.stderr", output)
    configure_logging("INFO", "json")

    structlog.get_logger().info("careless", api_key="cg_live_123", payload={"a": 1}, kept="ok")

    line = json.loads(output.getvalue())
    assert (line["api_key"], line["payload"], line["kept"]) == (REDACTED, REDACTED, "ok")


def test_under_a_flood_one_refusal_a_second_is_logged_and_the_others_are_counted(
    make_client: ClientFactory, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    flood = add_source(database, "flood", rate="1/minute", burst=1)
    client = make_client()
    # The limit's window is a wall-clock minute: the test (about 1.5 s) must not straddle two,
    # or the sliding count lets req-6 through (it was a flake, 1 run in 40 or so).
    fresh_window(needed=3.0, window=60.0)
    post_event(client, instructor_event("f-0", "in-0"), flood)  # the key is known from now on

    refused = [
        client.post(
            "/api/v1/events",
            json=instructor_event(f"f-{n}", "in-1"),
            headers={"X-Request-ID": f"req-{n}", **bearer(flood)},
        )
        for n in range(1, 6)
    ]
    first_lines = log_lines(capsys.readouterr().err)
    time.sleep(1.05)  # the next second: the next refusal is logged, with the count before it
    client.post("/api/v1/events", json=instructor_event("f-6", "in-1"),
                headers={"X-Request-ID": "req-6", **bearer(flood)})  # fmt: skip
    later_lines = log_lines(capsys.readouterr().err)

    assert [r.status_code for r in refused] == [429] * 5
    assert [r.headers["X-Request-ID"] for r in refused] == [f"req-{n}" for n in range(1, 6)]
    requests = [line for line in first_lines if line["event"] == "request"]
    assert [(line["request_id"], line["status"]) for line in requests] == [
        (requests[0]["request_id"], 200),
        ("req-1", 429),
    ]
    assert [
        (line["event"], line.get("source"), line.get("not_logged"), line.get("request_id"))
        for line in later_lines
        if line["event"] in ("throttled", "request")
    ] == [("throttled", "flood", 4, None), ("request", "flood", None, "req-6")]
