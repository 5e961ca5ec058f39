"""Schemathesis against the OpenAPI document the service serves (issue 5, point 5).

Every operation of `/openapi.json` is fuzzed with a bounded number of generated requests,
valid and invalid, sent with a real source key to the app on a migrated SQLite database that
holds a product and a degree (so list reads answer real representations). Each answer must:

- not be a server error (5xx);
- have a documented status code and content type;
- match the documented schema of that status;
- on the two write endpoints (issue 11), name the place of what it refuses: a 4xx problem has
  `errors` with JSON Pointers or the `offset` of a body that cannot be parsed (401, 403, 413,
  415 and 429 excepted), a 4xx event answer's errors each have a `path` or `source_path` or an
  event-level code, and a batch's 200 answer has one result per event sent.

The batch endpoint is also fuzzed on its own, and its generated events must be varied: objects,
strings, numbers, null and arrays must each reach it and be answered in their place. That needs
the documented request body to accept any JSON value as an item (`events: list[Any]`).

The schema is read from an app at import time (pytest parametrizes over its operations then);
the requests go to an app built per module on its own database under `tmp_path`. Both are
built by `create_app` with the same settings, and a test checks they serve the same document.

Answers the fuzzer cannot reach on its own are provoked on purpose and checked the same way:
200 on each single-item read of what exists, 429 on every throttled operation, 413 on both
write operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import upgrade
from catalog_gateway.settings import Settings
from tests.factories import bearer, make_organization, make_source
from tests.fuzz.answers import (
    PROBLEM_JSON,
    assert_batch_answer,
    assert_event_answer,
    assert_problem_names_a_place,
)
from tests.gateway.payloads import COURSE_KEY, RUN_KEYS, envelope, occurred, product_payload

# Examples per operation for the generated phases; the whole file stays well under a minute.
MAX_EXAMPLES = 25
# Examples of batches, per generation mode, for the test of varied events.
BATCH_EXAMPLES = 60
EVENTS_PATH = "/api/v1/events"
BATCH_PATH = "/api/v1/events/batch"
WRITE_OPERATIONS = {f"POST {EVENTS_PATH}", f"POST {BATCH_PATH}"}


@schemathesis.check
def write_answers_name_a_place(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """On the write endpoints: no 5xx; a 4xx problem names the place of what it refuses; a 4xx
    event answer's errors each name theirs; a 200 batch answer has one result per event."""
    label = _label(case.operation.method, case.operation.path)
    if label not in WRITE_OPERATIONS:
        return None
    status = response.status_code
    what = f"{label} answered {status}: {response.text[:1000]}"
    assert status < 500, what
    content_type = (response.headers.get("content-type") or [""])[0]
    if 400 <= status < 500:
        if content_type.startswith(PROBLEM_JSON):
            assert_problem_names_a_place(status, response.json(), what)
        else:
            assert label == f"POST {EVENTS_PATH}", f"a batch refused without a problem: {what}"
            assert content_type.startswith("application/json"), what
            assert_event_answer(response.json(), what, http_status=status)
    elif status == 200 and label == f"POST {BATCH_PATH}":
        body = case.body
        events = body.get("events") if isinstance(body, dict) else None
        assert_batch_answer(response.json(), events if isinstance(events, list) else None, what)
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    write_answers_name_a_place,
]
# Throttling must not shape what the fuzzer sees: limits far above what it can send.
GENEROUS = {"read_rate": "100000/second", "read_burst": 100_000}
SOURCE_SLUG = "exec-ed"
PRODUCT_EVENT_ID = "fuzz-seed-product"
DEGREE_SLUG = "masters-data-science"

# Operations the fuzzer must reach: the write endpoints and every read.
REQUIRED_OPERATIONS = {
    "POST /api/v1/events",
    "POST /api/v1/events/batch",
    "GET /api/v1/events",
    "GET /api/v1/events/{event_id}",
    "GET /api/v1/event-types",
    "GET /api/v1/event-types/{name}/schema",
    "GET /api/v1/sources/{slug}/schema/{event_type}",
    "GET /api/v1/courses",
    "GET /api/v1/courses/{key}",
    "GET /api/v1/course-runs",
    "GET /api/v1/course-runs/{key}",
    "GET /api/v1/instructors/{instructor_uuid}",
    "GET /api/v1/degrees",
    "GET /api/v1/degrees/{slug}",
    "GET /api/v1/organizations",
    "GET /health",
    "GET /ready",
}


def _settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, **GENEROUS)


def _schema_app() -> FastAPI:
    """An app only asked for its OpenAPI document (its in-memory database is never used)."""
    return create_app(_settings("sqlite://"), Database("sqlite://"))


schema = schemathesis.openapi.from_asgi("/openapi.json", _schema_app())


@dataclass(frozen=True)
class Target:
    """The app under test, its database, source keys, and what the database was seeded with."""

    app: FastAPI
    database: Database
    url: str
    key: str
    throttled_key: str
    instructor_uuids: tuple[str, ...]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


def _degree_event() -> dict[str, Any]:
    degree = {
        "external_id": "deg-1",
        "marketing_slug": DEGREE_SLUG,
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MIT",
        "courses": ["xe-7001"],
        "specializations": ["Machine Learning"],
        "level": "advanced",
        "primary_subject": "data-analysis-statistics",
    }
    return envelope("fuzz-seed-degree", {"degree": degree}, "degree.upsert", occurred(1))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The service on a migrated SQLite file holding one product and one degree of `exec-ed`."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'catalog.db'}"
    database = Database(url)
    upgrade(database)
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        _, issued = make_source(
            session, SOURCE_SLUG, rate="100000/second", burst=100_000, codes={"MIT": "MITx"}
        )
        _, throttled = make_source(session, "throttled", rate="1/hour", burst=1)
    app = create_app(_settings(url), database)
    with TestClient(app) as client:
        product = client.post(
            "/api/v1/events",
            json=envelope(PRODUCT_EVENT_ID, product_payload()),
            headers=bearer(issued.api_key),
        )
        assert product.status_code == 200, product.text
        degree = client.post("/api/v1/events", json=_degree_event(), headers=bearer(issued.api_key))
        assert degree.status_code == 200, degree.text
        instructors = tuple(product.json()["products"]["instructors"])
        assert len(instructors) == 3
    yield Target(
        app=app,
        database=database,
        url=url,
        key=issued.api_key,
        throttled_key=throttled.api_key,
        instructor_uuids=instructors,
    )
    database.dispose()


def _label(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def _operations() -> set[str]:
    return {_label(result.ok().method, result.ok().path) for result in schema.get_all_operations()}


def test_every_endpoint_is_fuzzed() -> None:
    assert _operations() >= REQUIRED_OPERATIONS


def test_the_app_under_test_serves_the_fuzzed_document(target: Target) -> None:
    assert target.app.openapi() == schema.raw_schema


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api_conforms_to_its_openapi(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate(app=target.app, headers=target.headers, checks=CHECKS)


def _kind(item: Any) -> str:
    """The JSON type of a batch item."""
    if isinstance(item, dict):
        return "object"
    if isinstance(item, list):
        return "array"
    if isinstance(item, str):
        return "string"
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "boolean"
    return "number"


def test_the_batch_is_fuzzed_with_varied_events(target: Target) -> None:
    """Generated batches reach the endpoint with objects, strings, numbers, null and arrays
    among their events, and each is answered in its place (the checks above, the one of the
    write endpoints included)."""
    operation = schema[BATCH_PATH]["POST"]
    answered: Counter[str] = Counter()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=BATCH_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call_and_validate(app=target.app, headers=target.headers, checks=CHECKS)
            body = case.body
            if response.status_code == 200 and isinstance(body, dict):
                answered.update(_kind(item) for item in body["events"])

        fuzz()
    missing = {"object", "string", "number", "null", "array"} - set(answered)
    assert not missing, (
        f"no generated batch answered 200 with {sorted(missing)} among its events (answered: "
        f"{dict(answered)}); the batch's documented request body must accept any JSON value "
        "as an item (events: list[Any]) for the fuzzer to send them"
    )


# Generated path parameters rarely name something that exists, so each single-item read is
# also called once on what the database holds, and its 200 answer checked against the schema.
@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        pytest.param(path, parameters, id=path)
        for path, parameters in [
            ("/api/v1/courses/{key}", {"key": COURSE_KEY}),
            ("/api/v1/course-runs/{key}", {"key": RUN_KEYS[0]}),
            ("/api/v1/degrees/{slug}", {"slug": DEGREE_SLUG}),
            ("/api/v1/events/{event_id}", {"event_id": PRODUCT_EVENT_ID}),
            ("/api/v1/event-types/{name}/schema", {"name": "product.upsert"}),
            ("/api/v1/instructors/{instructor_uuid}", {}),
        ]
    ],
)
def test_existing_items_conform(path: str, parameters: dict[str, str], target: Target) -> None:
    if "{instructor_uuid}" in path:
        parameters = {"instructor_uuid": target.instructor_uuids[0]}
    case = schema[path]["GET"].Case(path_parameters=parameters)
    response = case.call_and_validate(app=target.app, headers=target.headers, checks=CHECKS)
    assert response.status_code == 200, response.text


# The protective answers (DESIGN §4): generous limits keep them out of the fuzzing above, so
# each is provoked on purpose and its answer checked against the operation's documentation.
THROTTLED_READS = [
    ("/api/v1/events", {}),
    ("/api/v1/events/{event_id}", {"event_id": PRODUCT_EVENT_ID}),
    ("/api/v1/courses", {}),
    ("/api/v1/courses/{key}", {"key": COURSE_KEY}),
    ("/api/v1/course-runs", {}),
    ("/api/v1/course-runs/{key}", {"key": RUN_KEYS[0]}),
    ("/api/v1/degrees", {}),
    ("/api/v1/degrees/{slug}", {"slug": DEGREE_SLUG}),
    ("/api/v1/organizations", {}),
]


def _product_body(event_id: str) -> dict[str, Any]:
    return envelope(event_id, product_payload(), occurred_at=occurred(2))


def _write_case(path: str, event_id: str) -> schemathesis.Case:
    body = _product_body(event_id)
    if path.endswith("/batch"):
        body = {"events": [body], "error_policy": "independent"}
    return schema[path]["POST"].Case(body=body, media_type="application/json")


@pytest.mark.parametrize(
    ("path", "parameters"), [pytest.param(p, q, id=p) for p, q in THROTTLED_READS]
)
def test_throttled_reads_conform(path: str, parameters: dict[str, str], target: Target) -> None:
    app = create_app(
        Settings(database_url=target.url, read_rate="1/hour", read_burst=1), target.database
    )
    case = schema[path]["GET"].Case(path_parameters=parameters)
    first = case.call(app=app, headers=target.headers)
    assert first.status_code == 200, first.text
    throttled = case.call(app=app, headers=target.headers)
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["content-type"][0].startswith("application/problem+json")
    case.validate_response(throttled, checks=CHECKS, transport_kwargs={"app": app})


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/batch"])
def test_throttled_writes_conform(path: str, target: Target) -> None:
    """Source `throttled` may send one event per hour."""
    app = create_app(_settings(target.url), target.database)
    headers = bearer(target.throttled_key)
    first = _write_case(path, "throttled-1").call(app=app, headers=headers)
    assert first.status_code != 429, first.text
    case = _write_case(path, "throttled-2")
    throttled = case.call(app=app, headers=headers)
    assert throttled.status_code == 429, throttled.text
    case.validate_response(throttled, checks=CHECKS, transport_kwargs={"app": app})


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/batch"])
def test_oversized_bodies_conform(path: str, target: Target) -> None:
    app = create_app(
        Settings(
            database_url=target.url, max_body_bytes=1024, max_batch_body_bytes=1024, **GENEROUS
        ),
        target.database,
    )
    case = _write_case(path, "too-large")
    response = case.call(app=app, headers=target.headers)
    assert response.status_code == 413, response.text
    case.validate_response(response, checks=CHECKS, transport_kwargs={"app": app})
