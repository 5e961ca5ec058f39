"""Input limits over HTTP (issue 5 point 3, DESIGN §4: 413, 400).

- a body over `max_body_bytes` → 413 `body_too_large`, whether it declares its length or is sent
  chunked, and refused before the whole body is read;
- the batch endpoint has its own, larger limit (`max_batch_body_bytes`);
- JSON nested deeper than `max_json_depth`, or with a string longer than `max_string_length`
  → 400 `input_too_complex` — also when nested deeper than Python's recursion limit (not a 500);
- more than `batch_max_events` events in a batch → 413 `batch_too_large`.
Every refused request writes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from catalog_gateway.catalog.models import Course, Instructor
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from tests.factories import bearer
from tests.gateway.conftest import served
from tests.gateway.payloads import course_payload, envelope, product_payload
from tests.protection.conftest import (
    AppFactory,
    ClientFactory,
    add_source,
    assert_problem,
    count,
    instructor_event,
    policy_of,
)

SMALL = 4096
BATCH = 65536
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def key(database: Database) -> str:
    return add_source(database, "exec-ed")


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client(max_body_bytes=SMALL, max_batch_body_bytes=BATCH)


def _padded_event(event_id: str, size: int) -> bytes:
    """A valid course.upsert whose body is about `size` bytes (padded in short_description)."""
    event = envelope(event_id, {"course": course_payload(short_description="")}, "course.upsert")
    body = json.dumps(event).encode()
    event["payload"]["course"]["short_description"] = "x" * max(0, size - len(body))
    return json.dumps(event).encode()


def _nothing_written(database: Database) -> None:
    assert count(database, EventRecord) == 0
    assert count(database, Course) == 0
    assert count(database, Instructor) == 0


def test_body_over_the_limit_is_413(client: TestClient, key: str, database: Database) -> None:
    body = _padded_event("big-1", SMALL + 500)

    response = client.post("/api/v1/events", content=body, headers=bearer(key) | JSON)

    problem = assert_problem(response, 413, "body_too_large")
    assert str(SMALL) in problem["detail"]
    assert policy_of(response)["name"] == "events"
    _nothing_written(database)


def test_body_just_under_the_limit_is_accepted(client: TestClient, key: str) -> None:
    body = _padded_event("fits-1", SMALL - 100)
    assert len(body) <= SMALL

    response = client.post("/api/v1/events", content=body, headers=bearer(key) | JSON)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


@pytest.fixture
def live_url(make_app: AppFactory) -> Iterator[str]:
    with served(make_app(max_body_bytes=SMALL, max_batch_body_bytes=BATCH)) as url:
        yield url


def test_chunked_body_without_content_length_over_the_limit_is_413(
    live_url: str, key: str, database: Database
) -> None:
    body = _padded_event("chunked-1", 4 * SMALL)
    sent_headers: dict[str, str] = {}

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    def remember(request: httpx.Request) -> None:
        sent_headers.update(request.headers)

    with httpx.Client(base_url=live_url, timeout=10, event_hooks={"request": [remember]}) as http:
        response = http.post("/api/v1/events", content=chunks(), headers=bearer(key) | JSON)

    assert "content-length" not in sent_headers
    assert sent_headers.get("transfer-encoding") == "chunked"
    assert_problem(response, 413, "body_too_large")
    _nothing_written(database)


def test_chunked_body_under_the_limit_is_accepted(live_url: str, key: str) -> None:
    body = _padded_event("chunked-ok", SMALL - 200)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    with httpx.Client(base_url=live_url, timeout=10) as http:
        response = http.post("/api/v1/events", content=chunks(), headers=bearer(key) | JSON)

    assert response.status_code == 200, response.text


def _asgi_post(app: FastAPI, path: str, key: str, chunk: bytes, chunks: int) -> tuple[int, int]:
    """POST `chunks` chunks of `chunk`, without a Content-Length, straight to the ASGI app;
    (status, how many chunks the app pulled before answering)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= chunks:
            await asyncio.sleep(3600)  # the client never hangs up on its own
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    return status, pulled


def test_oversized_body_is_refused_before_it_is_all_read(
    make_app: AppFactory, key: str, database: Database
) -> None:
    app = make_app(max_body_bytes=SMALL)
    chunk = b" " * 1024
    total_chunks = 1024  # 1 MiB offered

    status, pulled = _asgi_post(app, "/api/v1/events", key, chunk, total_chunks)

    assert status == 413
    # it stopped reading right past the limit, far from the whole megabyte
    assert pulled <= SMALL // len(chunk) + 1, f"read {pulled} of {total_chunks} chunks"
    _nothing_written(database)


def test_batch_has_its_own_larger_limit(client: TestClient, key: str, database: Database) -> None:
    events = [
        instructor_event(f"b-{i}", f"in-{i}", bio="<p>" + "x" * 900 + "</p>") for i in range(8)
    ]
    body = json.dumps({"events": events}).encode()
    assert SMALL < len(body) < BATCH  # too big for one event, fine for a batch

    response = client.post("/api/v1/events/batch", content=body, headers=bearer(key) | JSON)

    assert response.status_code == 200, response.text
    assert response.json()["summary"]["applied"] == 8
    assert count(database, Instructor) == 8


def test_batch_over_its_limit_is_413(client: TestClient, key: str, database: Database) -> None:
    events = [
        instructor_event(f"b-{i}", f"in-{i}", bio="<p>" + "x" * 2000 + "</p>") for i in range(40)
    ]
    body = json.dumps({"events": events}).encode()
    assert len(body) > BATCH

    response = client.post("/api/v1/events/batch", content=body, headers=bearer(key) | JSON)

    assert_problem(response, 413, "body_too_large")
    _nothing_written(database)


def _nested(levels: int) -> str:
    """An event whose payload holds a value nested `levels` deep (as raw JSON text)."""
    deep = "[" * levels + "]" * levels
    return (
        '{"event_id": "deep-1", "event_type": "course.upsert", '
        '"occurred_at": "2026-11-28T10:00:00Z", '
        f'"payload": {{"course": {{"external_id": "xe-1", "facts": {deep}}}}}}}'
    )


@pytest.mark.parametrize("levels", [100, 5000])
def test_deeply_nested_json_is_400_input_too_complex(
    make_client: ClientFactory, key: str, database: Database, levels: int
) -> None:
    client = make_client()  # default limits: 1 MiB, depth 32
    body = _nested(levels).encode()

    response = client.post("/api/v1/events", content=body, headers=bearer(key) | JSON)

    problem = assert_problem(response, 400, "input_too_complex")
    assert "nested" in problem["detail"]
    _nothing_written(database)


def test_deeply_nested_batch_is_400_not_500(make_client: ClientFactory, key: str) -> None:
    client = make_client()
    body = ('{"events": [' + _nested(5000) + "]}").encode()

    response = client.post("/api/v1/events/batch", content=body, headers=bearer(key) | JSON)

    assert_problem(response, 400, "input_too_complex")


def test_nesting_within_the_limit_is_not_refused_as_too_complex(
    make_client: ClientFactory, key: str
) -> None:
    client = make_client()
    body = _nested(10).encode()

    response = client.post("/api/v1/events", content=body, headers=bearer(key) | JSON)

    # the payload is not a valid course (422), but it was read and judged, not refused
    assert response.status_code == 422, response.text
    assert response.json()["status"] == "rejected"


def test_string_longer_than_the_limit_is_400_input_too_complex(
    make_client: ClientFactory, key: str, database: Database
) -> None:
    client = make_client(max_string_length=2048)
    product = product_payload(full_description="<p>" + "x" * 3000 + "</p>")

    response = client.post("/api/v1/events", json=envelope("long-1", product), headers=bearer(key))

    problem = assert_problem(response, 400, "input_too_complex")
    assert "2048" in problem["detail"]
    _nothing_written(database)


def test_long_key_is_bounded_too(make_client: ClientFactory, key: str, database: Database) -> None:
    client = make_client(max_string_length=2048)
    product = product_payload()
    product["course"]["k" * 3000] = "v"

    response = client.post("/api/v1/events", json=envelope("long-2", product), headers=bearer(key))

    assert_problem(response, 400, "input_too_complex")
    _nothing_written(database)


def test_string_within_the_limit_is_accepted(make_client: ClientFactory, key: str) -> None:
    client = make_client(max_string_length=2048)
    product = product_payload(full_description="<p>" + "x" * 1500 + "</p>")

    response = client.post("/api/v1/events", json=envelope("long-ok", product), headers=bearer(key))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


def test_batch_of_501_events_is_413_batch_too_large(
    make_client: ClientFactory, key: str, database: Database
) -> None:
    client = make_client()
    events = [instructor_event(f"e-{i}", f"in-{i}") for i in range(501)]

    response = client.post("/api/v1/events/batch", json={"events": events}, headers=bearer(key))

    problem = assert_problem(response, 413, "batch_too_large")
    assert "500" in problem["detail"]
    assert "501" in problem["detail"]
    _nothing_written(database)


def test_batch_of_500_events_is_accepted(make_client: ClientFactory, key: str) -> None:
    client = make_client()
    events = [instructor_event(f"e-{i}", f"in-{i}") for i in range(500)]

    response = client.post("/api/v1/events/batch", json={"events": events}, headers=bearer(key))

    assert response.status_code == 200, response.text
    assert response.json()["summary"]["applied"] == 500
