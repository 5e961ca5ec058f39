"""Hostile and sloppy input over HTTP (issue 11, rows R1 to R10), on both databases.

Each row is tried on `POST /api/v1/events` and, where the row says so, on
`POST /api/v1/events/batch`. Bodies that are about the bytes are sent raw (`content=`) with an
explicit `Content-Type: application/json`.

- R1 a lone surrogate (`\\ud800` escape) → 400 `malformed_json` naming its place; in a batch
  item, that item is `rejected` `invalid_envelope` and the others are answered;
- R2 an `occurred_at` further ahead of the server clock than `max_clock_skew_seconds` →
  400 `invalid_envelope` at `/occurred_at`;
- R3 strict JSON types in canonical payloads (no `true` for a number, no number for a date);
- R4 `occurred_at` as an epoch number, a numeric string or without an offset → 400;
- R5 a body that does not say it is JSON → 415 `unsupported_media_type`;
- R6 malformed JSON → 400 `malformed_json` saying why and where (line, column, byte offset);
- R7 `input_too_complex` names the first offending value;
- R8 a batch item that is not an object is answered on its own, at `/events/N`;
- R9 NUL characters in a payload → 422 `invalid_character` before anything runs;
- R10 at most 100 errors in an answer, and how many more there were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.catalog.models import Course, CourseRun, Instructor, Seat
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.settings import Settings, get_settings
from tests.factories import bearer, make_admin_key, make_organization, make_source, url_of
from tests.gateway.conftest import Api, Keys
from tests.gateway.payloads import (
    COURSE_KEY,
    envelope,
    instructor_payload,
    product_payload,
    run_payload,
    seat_payload,
)
from tests.protection.conftest import ClientFactory, add_source, assert_problem, count
from tests.transformers.conftest import BOOTCAMPS_MAPPING
from tests.transformers.support import sample_cohort

JSON = "application/json"
ApiFactory = Callable[..., Api]


# Fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def keys(database: Database) -> Keys:
    """Sources `exec-ed` and `bootcamps` (canonical transformer, `MIT` → MITx) and an admin key."""
    exec_ed = add_source(database, "exec-ed")
    bootcamps = add_source(database, "bootcamps")
    with database.unit_of_work() as session:
        admin = make_admin_key(session).api_key
    return Keys(exec_ed=exec_ed, bootcamps=bootcamps, admin=admin)


@pytest.fixture
def make_api(make_client: ClientFactory, database: Database, keys: Keys) -> ApiFactory:
    """An `Api` on the service built with some settings changed."""

    def build(**overrides: Any) -> Api:
        return Api(client=make_client(**overrides), database=database, keys=keys)

    return build


@pytest.fixture
def api(make_api: ApiFactory) -> Api:
    """An `Api` on the service with its default settings."""
    return make_api()


def post_raw(
    api: Api,
    body: bytes,
    *,
    batch: bool = False,
    content_type: str | None = JSON,
) -> httpx.Response:
    """POST these exact bytes (as `exec-ed`), with this `Content-Type` (None: no header)."""
    headers = bearer(api.keys.exec_ed)
    if content_type is not None:
        headers["Content-Type"] = content_type
    path = "/api/v1/events/batch" if batch else "/api/v1/events"
    return api.client.post(path, content=body, headers=headers)


def dumps(document: Any) -> bytes:
    """`document` as JSON bytes (ASCII: a lone surrogate is written as its `\\uXXXX` escape)."""
    return json.dumps(document).encode()


def batch_body(events: list[Any], error_policy: str = "independent") -> bytes:
    return dumps({"events": events, "error_policy": error_policy})


def instructor_event(event_id: str = "ok-1", external_id: str = "in-1") -> dict[str, Any]:
    """A valid, cheap event: batches put it beside the hostile one."""
    return envelope(event_id, {"instructor": instructor_payload(external_id)}, "instructor.upsert")


def results_of(response: httpx.Response, size: int) -> list[dict[str, Any]]:
    """The batch's answers: HTTP 200, one per event."""
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert len(results) == size, results
    return results


def issues(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(code, path) of each error of an answer, in order."""
    return [(error["code"], error["path"]) for error in answer["errors"]]


def assert_applied(answer: dict[str, Any], event_id: str = "ok-1") -> None:
    assert (answer["event_id"], answer["status"]) == (event_id, "applied"), answer


def assert_nothing_written(database: Database) -> None:
    """No event record and no catalog row."""
    for model in (EventRecord, Course, CourseRun, Seat, Instructor):
        assert count(database, model) == 0, model


def assert_only_the_good_event_written(database: Database) -> None:
    """The batch's good `instructor.upsert` was applied and logged; nothing else was."""
    assert count(database, EventRecord) == 1
    assert count(database, Instructor) == 1
    assert count(database, Course) == 0
    assert count(database, CourseRun) == 0


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# R1: lone surrogates ---------------------------------------------------------------------------

# Where a lone surrogate is put (the escape as it is in the raw bytes), and the pointer of
# that string in the event.
SURROGATE_PLACES = [
    (("payload", "course", "title"), "X\\ud800", "/payload/course/title"),
    (("payload", "instructors", 1, "given_name"), "\\udfff", "/payload/instructors/1/given_name"),
    (
        ("payload", "course_runs", 0, "seats", 0, "currency"),
        "\\ud800\\u0041",
        "/payload/course_runs/0/seats/0/currency",
    ),
    (("event_id",), "ab\\udbff", "/event_id"),
]


def _set(document: Any, place: tuple[str | int, ...], value: Any) -> None:
    target = document
    for part in place[:-1]:
        target = target[part]
    target[place[-1]] = value


def with_escape(document: dict[str, Any], place: tuple[str | int, ...], escaped: str) -> bytes:
    """`document` as JSON whose string at `place` is the raw JSON text `escaped`."""
    marker = "@@MARKER@@"
    _set(document, place, marker)
    text = json.dumps(document)
    assert text.count(f'"{marker}"') == 1
    return text.replace(f'"{marker}"', f'"{escaped}"').encode()


@pytest.mark.parametrize(("place", "escaped", "path"), SURROGATE_PLACES)
def test_a_lone_surrogate_is_400_malformed_json_naming_its_place(
    api: Api, database: Database, place: tuple[str | int, ...], escaped: str, path: str
) -> None:
    body = with_escape(envelope("sur-1", product_payload()), place, escaped)
    assert b"\\ud" in body  # the escape itself travels, not a decoded character

    response = post_raw(api, body)

    problem = assert_problem(response, 400, "malformed_json")
    assert "lone surrogate" in problem["detail"]
    assert problem["errors"][0]["path"] == path
    assert_nothing_written(database)


def test_a_lone_surrogate_in_a_key_is_400_malformed_json(api: Api, database: Database) -> None:
    event = envelope("sur-key", product_payload())
    event["payload"]["course"]["@@KEY@@"] = "a value"
    body = json.dumps(event).replace('"@@KEY@@"', '"note\\ud800"').encode()

    response = post_raw(api, body)

    problem = assert_problem(response, 400, "malformed_json")
    assert "lone surrogate" in problem["detail"]
    # the pointer of that member, its key written as sent (the escape, as text)
    assert problem["errors"][0]["path"] == "/payload/course/note\\ud800"
    assert_nothing_written(database)


def test_a_surrogate_pair_is_a_character_and_is_accepted(api: Api) -> None:
    body = with_escape(
        envelope("pair-1", product_payload()), ("payload", "course", "title"), "Data \\ud83d\\udcca"
    )

    response = post_raw(api, body)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    assert (api.course() or {})["title"] == "Data \U0001f4ca"


def test_a_lone_surrogate_in_a_batch_item_rejects_that_item_and_answers_the_others(
    api: Api, database: Database
) -> None:
    batch = {
        "events": [instructor_event("ok-1"), envelope("sur-1", product_payload())],
        "error_policy": "independent",
    }
    body = with_escape(batch, ("events", 1, "payload", "course", "title"), "X\\ud800")

    response = post_raw(api, body, batch=True)

    results = results_of(response, 2)
    assert_applied(results[0])
    bad = results[1]
    assert bad["status"] == "rejected"
    assert [(e["code"], e["step"], e["path"]) for e in bad["errors"]] == [
        ("invalid_envelope", "envelope", "/events/1/payload/course/title")
    ]
    assert "lone surrogate" in bad["errors"][0]["message"]
    assert_only_the_good_event_written(database)


def test_a_lone_surrogate_outside_the_events_of_a_batch_is_400_malformed_json(
    api: Api, database: Database
) -> None:
    batch = {"events": [instructor_event("ok-1")], "error_policy": "independent"}
    body = with_escape(batch, ("error_policy",), "independent\\ud800")

    response = post_raw(api, body, batch=True)

    problem = assert_problem(response, 400, "malformed_json")
    assert "lone surrogate" in problem["detail"]
    assert problem["errors"][0]["path"] == "/error_policy"
    assert_nothing_written(database)


# R2: occurred_at ahead of the server clock ---------------------------------------------------


def assert_says_ahead_of_the_clock(message: str, allowed: int = 300) -> None:
    """The message compares the time with the server's clock and says how much is allowed."""
    assert "server" in message, message
    assert "clock" in message, message
    assert f"{allowed} s" in message, message


def test_an_event_from_2099_is_400_invalid_envelope_ahead_of_the_clock(
    api: Api, database: Database
) -> None:
    event = envelope("future-1", product_payload(), occurred_at="2099-01-01T00:00:00Z")

    response = post_raw(api, dumps(event))

    problem = assert_problem(response, 400, "invalid_envelope")
    assert problem["errors"][0]["path"] == "/occurred_at"
    assert_says_ahead_of_the_clock(problem["errors"][0]["message"])
    assert_nothing_written(database)


def test_an_event_ten_minutes_ahead_is_beyond_the_default_skew_of_300_seconds(
    api: Api, database: Database
) -> None:
    ahead = iso(datetime.now(UTC) + timedelta(minutes=10))
    event = envelope("future-2", product_payload(), occurred_at=ahead)

    response = post_raw(api, dumps(event))

    problem = assert_problem(response, 400, "invalid_envelope")
    assert [e["path"] for e in problem["errors"]] == ["/occurred_at"]
    assert_nothing_written(database)


def test_an_event_sixty_seconds_ahead_is_accepted(api: Api) -> None:
    ahead = iso(datetime.now(UTC) + timedelta(seconds=60))
    event = envelope("ahead-60", product_payload(), occurred_at=ahead)

    response = post_raw(api, dumps(event))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    assert api.course() is not None


def test_the_allowed_skew_is_the_max_clock_skew_seconds_setting(
    make_api: ApiFactory, database: Database
) -> None:
    api = make_api(max_clock_skew_seconds=30)
    ahead = iso(datetime.now(UTC) + timedelta(seconds=60))

    response = post_raw(api, dumps(instructor_event("ahead-60") | {"occurred_at": ahead}))

    problem = assert_problem(response, 400, "invalid_envelope")
    assert problem["errors"][0]["path"] == "/occurred_at"
    assert_says_ahead_of_the_clock(problem["errors"][0]["message"], allowed=30)
    assert_nothing_written(database)


def test_a_batch_item_from_2099_is_rejected_at_its_occurred_at_and_the_others_applied(
    api: Api, database: Database
) -> None:
    future = envelope("future-1", product_payload(), occurred_at="2099-01-01T00:00:00Z")

    response = post_raw(api, batch_body([instructor_event("ok-1"), future]), batch=True)

    results = results_of(response, 2)
    assert_applied(results[0])
    assert results[1]["status"] == "rejected"
    assert issues(results[1]) == [("invalid_envelope", "/events/1/occurred_at")]
    assert_says_ahead_of_the_clock(results[1]["errors"][0]["message"])
    assert_only_the_good_event_written(database)


# R3: strict JSON types in canonical payloads ---------------------------------------------------


def _run0(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(product: dict[str, Any]) -> None:
        product["course_runs"][0][field] = value

    return change


def _seat_price(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(product: dict[str, Any]) -> None:
        product["course_runs"][0]["seats"][0]["price"] = value

    return change


LOOSE_TYPES = {
    "min_effort true": (_run0("min_effort", True), "invalid_type", "/course_runs/0/min_effort"),
    "min_effort '4'": (_run0("min_effort", "4"), "invalid_type", "/course_runs/0/min_effort"),
    "min_effort 4.0": (_run0("min_effort", 4.0), "invalid_type", "/course_runs/0/min_effort"),
    "weeks_to_complete false": (
        _run0("weeks_to_complete", False),
        "invalid_type",
        "/course_runs/0/weeks_to_complete",
    ),
    "start as a number": (_run0("start", 1700000000), "invalid_date", "/course_runs/0/start"),
    "price true": (_seat_price(True), "invalid_price", "/course_runs/0/seats/0/price"),
}


def loosely_typed_product(case: str) -> dict[str, Any]:
    change, _, _ = LOOSE_TYPES[case]
    product = product_payload()
    change(product)
    return product


@pytest.mark.parametrize("case", list(LOOSE_TYPES))
def test_a_loosely_typed_value_is_rejected_at_its_field(
    api: Api, database: Database, case: str
) -> None:
    _, code, path = LOOSE_TYPES[case]

    response = post_raw(api, dumps(envelope("loose-1", loosely_typed_product(case))))

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert issues(answer) == [(code, path)]
    assert answer["errors"][0]["source_path"] == path  # the canonical transformer
    assert answer["errors"][0]["step"] == "validate"
    assert count(database, Course) == 0
    assert count(database, CourseRun) == 0


@pytest.mark.parametrize("case", list(LOOSE_TYPES))
def test_a_loosely_typed_value_in_a_batch_item_is_rejected_the_same_way(
    api: Api, database: Database, case: str
) -> None:
    _, code, path = LOOSE_TYPES[case]
    events = [instructor_event("ok-1"), envelope("loose-1", loosely_typed_product(case))]

    response = post_raw(api, batch_body(events), batch=True)

    results = results_of(response, 2)
    assert_applied(results[0])
    assert results[1]["status"] == "rejected"
    assert issues(results[1]) == [(code, path)]
    assert results[1]["errors"][0]["source_path"] == path
    assert count(database, Course) == 0


@pytest.mark.parametrize("price", ["2800.00", 2800])
def test_a_price_as_a_decimal_string_or_a_number_is_accepted(api: Api, price: Any) -> None:
    product = product_payload()
    product["course_runs"][0]["seats"][0]["price"] = price

    response = post_raw(api, dumps(envelope("price-1", product)))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    course = api.course()
    assert course is not None
    run = next(r for r in course["course_runs"] if r["key"].endswith("1T2027"))
    assert run["seats"][0]["price"] == "2800.00"


# R4: occurred_at that is not RFC 3339 with an offset -------------------------------------------

LOOSE_TIMES = [1764583200, "1764583200", "2026-11-28T10:00:00"]


@pytest.mark.parametrize("occurred_at", LOOSE_TIMES)
def test_an_occurred_at_without_an_rfc3339_offset_is_400_invalid_envelope(
    api: Api, database: Database, occurred_at: Any
) -> None:
    event = instructor_event("loose-time") | {"occurred_at": occurred_at}

    response = post_raw(api, dumps(event))

    problem = assert_problem(response, 400, "invalid_envelope")
    assert [e["path"] for e in problem["errors"]] == ["/occurred_at"]
    assert_nothing_written(database)


@pytest.mark.parametrize("occurred_at", LOOSE_TIMES)
def test_a_batch_item_with_such_an_occurred_at_is_rejected_at_it(
    api: Api, database: Database, occurred_at: Any
) -> None:
    loose = instructor_event("loose-time", "in-2") | {"occurred_at": occurred_at}

    response = post_raw(api, batch_body([instructor_event("ok-1"), loose]), batch=True)

    results = results_of(response, 2)
    assert_applied(results[0])
    assert results[1]["status"] == "rejected"
    assert issues(results[1]) == [("invalid_envelope", "/events/1/occurred_at")]
    assert_only_the_good_event_written(database)


def test_an_occurred_at_with_a_numeric_offset_is_accepted(api: Api) -> None:
    event = instructor_event("offset-1") | {"occurred_at": "2026-11-28T11:00:00+01:00"}

    response = post_raw(api, dumps(event))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


# R5: media types ------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [False, True], ids=["event", "batch"])
@pytest.mark.parametrize("content_type", ["text/plain", None], ids=["text-plain", "none"])
def test_a_body_not_declared_as_json_is_415_unsupported_media_type(
    api: Api, database: Database, content_type: str | None, batch: bool
) -> None:
    event = instructor_event("plain-1")
    body = batch_body([event]) if batch else dumps(event)

    response = post_raw(api, body, batch=batch, content_type=content_type)

    if content_type is None:
        assert "content-type" not in response.request.headers
    problem = assert_problem(response, 415, "unsupported_media_type")
    assert "application/json" in problem["detail"]
    assert_nothing_written(database)


@pytest.mark.parametrize("batch", [False, True], ids=["event", "batch"])
def test_json_with_a_charset_parameter_is_accepted(api: Api, batch: bool) -> None:
    event = instructor_event("charset-1")
    body = batch_body([event]) if batch else dumps(event)

    response = post_raw(api, body, batch=batch, content_type="application/json; charset=utf-8")

    assert response.status_code == 200, response.text
    answer = response.json()["results"][0] if batch else response.json()
    assert answer["status"] == "applied"


# R6: malformed JSON says why and where ---------------------------------------------------------

# Non-ASCII text before each mistake, so a byte offset differs from a character offset.
MISSING_COMMA = (
    "{\n"
    '  "payload": {"instructor": {"external_id": "in-1", "given_name": "Zoë",'
    ' "family_name": "Ørsted"}},\n'
    '  "event_id": "m-1",\n'
    '  "event_type": "instructor.upsert"\n'
    '  "occurred_at": "2026-11-28T10:00:00Z"\n'
    "}\n"
).encode()
TRAILING_COMMA = (
    "{\n"
    '  "payload": {"instructor": {"external_id": "in-1", "given_name": "Zoë",'
    ' "family_name": "Ørsted"}},\n'
    '  "event_id": "m-1",\n'
    '  "event_type": "instructor.upsert",\n'
    '  "occurred_at": "2026-11-28T10:00:00Z",\n'
    "}\n"
).encode()
# (body, line, column, byte offset of the first byte that cannot be JSON)
SYNTAX_ERRORS = {
    "missing comma": (MISSING_COMMA, 5, 3, MISSING_COMMA.index(b'"occurred_at"')),
    "trailing comma": (TRAILING_COMMA, 6, 1, TRAILING_COMMA.rindex(b"}")),
}


def assert_located(problem: dict[str, Any], line: int, column: int, offset: int) -> None:
    assert f"line {line}, column {column} (byte offset {offset})" in problem["detail"], problem
    assert (problem["line"], problem["column"], problem["offset"]) == (line, column, offset)


@pytest.mark.parametrize("case", list(SYNTAX_ERRORS))
def test_a_json_syntax_error_is_400_malformed_json_with_line_column_and_byte_offset(
    api: Api, database: Database, case: str
) -> None:
    body, line, column, offset = SYNTAX_ERRORS[case]

    response = post_raw(api, body)

    problem = assert_problem(response, 400, "malformed_json")
    assert_located(problem, line, column, offset)
    assert_nothing_written(database)


def test_a_json_syntax_error_in_a_batch_is_400_for_the_whole_request(
    api: Api, database: Database
) -> None:
    good = json.dumps(instructor_event("ok-1"))
    body = ('{"events": [\n' + good + ",\n" + good.replace("ok-1", "ok-2") + ",\n]}").encode()
    offset = body.rindex(b"]")

    response = post_raw(api, body, batch=True)

    problem = assert_problem(response, 400, "malformed_json")
    assert_located(problem, 4, 1, offset)
    assert_nothing_written(database)


NOT_UTF8 = {
    "a lone 0xff": b"\xff",
    "0xff after UTF-8 text": (
        '{"event_id": "u-1", "payload": {"instructor": {"given_name": "Zoë '.encode()
        + b'\xff and \xfe"}}}'
    ),
    "a truncated sequence": b'{"event_id": "caf\xc3", "event_type": "instructor.upsert"}',
}


@pytest.mark.parametrize("case", list(NOT_UTF8))
def test_a_body_that_is_not_utf8_is_400_malformed_json_at_the_first_bad_byte(
    api: Api, database: Database, case: str
) -> None:
    body = NOT_UTF8[case]
    offset = first_bad_byte(body)

    response = post_raw(api, body)

    problem = assert_problem(response, 400, "malformed_json")
    assert "not UTF-8" in problem["detail"]
    assert str(offset) in problem["detail"]
    assert problem["offset"] == offset
    assert_nothing_written(database)


def first_bad_byte(body: bytes) -> int:
    """The offset of the first byte that is not (the start of) a UTF-8 character."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start
    raise AssertionError("the body is UTF-8")


def test_a_body_that_is_not_utf8_in_a_batch_is_400_for_the_whole_request(
    api: Api, database: Database
) -> None:
    body = batch_body([instructor_event("ok-1")]).replace(b"Ada", b"Ad\xff")
    offset = body.index(b"\xff")

    response = post_raw(api, body, batch=True)

    problem = assert_problem(response, 400, "malformed_json")
    assert "not UTF-8" in problem["detail"]
    assert problem["offset"] == offset
    assert_nothing_written(database)


def _with_raw_number(number: str) -> bytes:
    """An instructor event whose given name is the raw JSON number `number`."""
    return dumps(instructor_event("num-1")).replace(b'"Ada"', number.encode())


@pytest.mark.parametrize("digits", [5000, 101])
def test_a_number_longer_than_100_characters_is_400_number_too_long(
    api: Api, database: Database, digits: int
) -> None:
    response = post_raw(api, _with_raw_number("7" * digits))

    problem = assert_problem(response, 400, "malformed_json")
    assert "number too long" in problem["detail"]
    assert_nothing_written(database)


def test_a_number_of_100_characters_is_read_and_judged(api: Api) -> None:
    response = post_raw(api, _with_raw_number("7" * 100))

    # read as a number, then refused by validation: a name is a string
    assert response.status_code == 422, response.text
    assert issues(response.json()) == [("invalid_type", "/instructor/given_name")]


def test_a_number_too_long_in_a_batch_is_400_for_the_whole_request(
    api: Api, database: Database
) -> None:
    body = batch_body([instructor_event("ok-1"), instructor_event("num-1", "in-2")])
    body = body.replace(b'"in-2"', b"9" * 5000)

    response = post_raw(api, body, batch=True)

    problem = assert_problem(response, 400, "malformed_json")
    assert "number too long" in problem["detail"]
    assert_nothing_written(database)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_400_malformed_json(
    api: Api, database: Database, literal: str
) -> None:
    body = _with_raw_number(literal)
    offset = body.index(literal.encode())

    response = post_raw(api, body)

    problem = assert_problem(response, 400, "malformed_json")
    assert_located(problem, 1, offset + 1, offset)
    assert_nothing_written(database)


def test_nan_in_a_batch_is_400_for_the_whole_request(api: Api, database: Database) -> None:
    body = batch_body([instructor_event("ok-1")]).replace(b'"Ada"', b"NaN")
    offset = body.index(b"NaN")

    response = post_raw(api, body, batch=True)

    problem = assert_problem(response, 400, "malformed_json")
    assert_located(problem, 1, offset + 1, offset)
    assert_nothing_written(database)


# R7: input_too_complex names the first offending value ----------------------------------------

MAX_DEPTH = 32  # the default `max_json_depth`


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def deep_event(levels: int, event_id: str = "deep-1") -> str:
    """A course.upsert (raw JSON) whose `/payload/course/facts` is `levels` nested lists."""
    return (
        f'{{"event_id": "{event_id}", "event_type": "course.upsert", '
        '"occurred_at": "2026-11-28T10:00:00Z", '
        f'"payload": {{"course": {{"external_id": "xe-1", "facts": {_deep(levels)}}}}}}}'
    )


# The envelope is level 1, payload 2, course 3, facts 4: facts + k times `/0` is level
# 4 + k, so the first value nested too deep is facts + (MAX_DEPTH - 3) times `/0`.
FIRST_TOO_DEEP = "/payload/course/facts" + "/0" * (MAX_DEPTH - 3)


@pytest.mark.parametrize("levels", [40, 5000])
def test_json_nested_too_deep_is_400_input_too_complex_at_the_first_value_too_deep(
    api: Api, database: Database, levels: int
) -> None:
    response = post_raw(api, deep_event(levels).encode())

    problem = assert_problem(response, 400, "input_too_complex")
    assert problem["errors"][0]["path"] == FIRST_TOO_DEEP
    assert_nothing_written(database)


def test_json_nested_to_the_limit_is_read_and_judged(api: Api) -> None:
    levels = MAX_DEPTH - 3  # the innermost list is at level 32 exactly

    response = post_raw(api, deep_event(levels).encode())

    assert response.status_code == 422, response.text
    assert response.json()["status"] == "rejected"


@pytest.mark.parametrize("levels", [40, 5000])
def test_json_nested_too_deep_in_a_batch_is_400_naming_the_pointer_in_the_batch(
    api: Api, database: Database, levels: int
) -> None:
    body = (
        '{"events": ['
        + json.dumps(instructor_event("ok-1"))
        + ", "
        + deep_event(levels)
        + '], "error_policy": "independent"}'
    ).encode()

    response = post_raw(api, body, batch=True)

    problem = assert_problem(response, 400, "input_too_complex")
    # the batch is level 1, `events` 2, the envelope 3: two levels deeper than a single event
    assert problem["errors"][0]["path"] == "/events/1/payload/course/facts" + "/0" * (MAX_DEPTH - 5)
    assert_nothing_written(database)


def test_a_string_longer_than_the_limit_is_400_input_too_complex_at_that_string(
    make_api: ApiFactory, database: Database
) -> None:
    api = make_api(max_string_length=2048)
    product = product_payload(full_description="<p>" + "x" * 3000 + "</p>")

    response = post_raw(api, dumps(envelope("long-1", product)))

    problem = assert_problem(response, 400, "input_too_complex")
    assert problem["errors"][0]["path"] == "/payload/course/full_description"
    assert_nothing_written(database)


@pytest.mark.parametrize(
    ("first", "path"),
    [
        ("title", "/payload/course/title"),
        ("facts", "/payload/course/facts" + "/0" * (MAX_DEPTH - 3)),
    ],
)
def test_input_too_complex_names_the_first_offending_value_in_document_order(
    make_api: ApiFactory, database: Database, first: str, path: str
) -> None:
    api = make_api(max_string_length=2048)
    long_title = json.dumps("x" * 3000)
    members = {"title": f'"title": {long_title}', "facts": f'"facts": {_deep(40)}'}
    second = "facts" if first == "title" else "title"
    body = (
        '{"event_id": "both-1", "event_type": "course.upsert", '
        '"occurred_at": "2026-11-28T10:00:00Z", '
        f'"payload": {{"course": {{{members[first]}, {members[second]}}}}}}}'
    ).encode()

    response = post_raw(api, body)

    problem = assert_problem(response, 400, "input_too_complex")
    assert problem["errors"][0]["path"] == path
    assert_nothing_written(database)


def test_a_string_too_long_in_a_batch_is_400_naming_the_pointer_in_the_batch(
    make_api: ApiFactory, database: Database
) -> None:
    api = make_api(max_string_length=2048)
    product = product_payload(full_description="<p>" + "x" * 3000 + "</p>")
    events = [instructor_event("ok-1"), envelope("long-1", product)]

    response = post_raw(api, batch_body(events), batch=True)

    problem = assert_problem(response, 400, "input_too_complex")
    assert problem["errors"][0]["path"] == "/events/1/payload/course/full_description"
    assert_nothing_written(database)


# R8: batch items that are not objects ----------------------------------------------------------


@pytest.mark.parametrize(
    "item", ["an event", 42, None, [1, 2]], ids=["string", "number", "null", "list"]
)
def test_a_batch_item_that_is_not_an_object_is_rejected_at_its_index(
    api: Api, database: Database, item: Any
) -> None:
    events = [instructor_event("ok-1"), item, instructor_event("ok-2", "in-2")]

    response = post_raw(api, batch_body(events), batch=True)

    results = results_of(response, 3)
    assert_applied(results[0], "ok-1")
    assert_applied(results[2], "ok-2")
    assert results[1]["status"] == "rejected"
    assert issues(results[1]) == [("invalid_envelope", "/events/1")]
    summary = response.json()["summary"]
    assert (summary["applied"], summary["rejected"]) == (2, 1)
    assert count(database, EventRecord) == 2
    assert count(database, Instructor) == 2


def test_an_all_or_nothing_batch_with_an_item_that_is_not_an_object_writes_nothing(
    api: Api, database: Database
) -> None:
    events = [instructor_event("ok-1"), "an event", instructor_event("ok-2", "in-2")]

    response = post_raw(api, batch_body(events, "all_or_nothing"), batch=True)

    results = results_of(response, 3)
    assert issues(results[1]) == [("invalid_envelope", "/events/1")]
    for aborted in (results[0], results[2]):
        assert aborted["status"] == "rejected"
        assert [e["code"] for e in aborted["errors"]] == ["batch_aborted"]
    assert_nothing_written(database)


def test_envelope_errors_of_a_batch_item_are_pointers_into_the_batch_body(
    api: Api, database: Database
) -> None:
    incomplete = instructor_event("bad-1", "in-2")
    del incomplete["event_type"]
    misnamed = instructor_event("bad id with spaces", "in-3")

    response = post_raw(
        api, batch_body([instructor_event("ok-1"), incomplete, misnamed]), batch=True
    )

    results = results_of(response, 3)
    assert_applied(results[0])
    assert issues(results[1]) == [("invalid_envelope", "/events/1/event_type")]
    assert issues(results[2]) == [("invalid_envelope", "/events/2/event_id")]
    assert_only_the_good_event_written(database)


# R9: NUL characters in the payload --------------------------------------------------------------


def nul_product() -> dict[str, Any]:
    """The product with NUL characters in three of its strings."""
    product = product_payload(title="Data\x00Science")
    product["instructors"][2]["bio"] = "<p>\x00</p>"
    product["course_runs"][1]["seats"][0]["currency"] = "US\x00D"
    return product


NUL_PATHS = {"/course/title", "/instructors/2/bio", "/course_runs/1/seats/0/currency"}


def assert_nul_rejection(answer: dict[str, Any]) -> None:
    """Only `invalid_character` errors, one per NUL, in `validate`, where the canonical
    transformer put them (source_path = path); nothing ran."""
    assert answer["status"] == "rejected"
    found = {(e["code"], e["step"], e["path"], e["source_path"]) for e in answer["errors"]}
    assert found == {("invalid_character", "validate", path, path) for path in NUL_PATHS}
    assert len(answer["errors"]) == len(NUL_PATHS)


def test_nul_characters_in_a_payload_are_422_invalid_character_and_not_logged(
    api: Api, database: Database
) -> None:
    response = post_raw(api, dumps(envelope("nul-1", nul_product())))

    assert response.status_code == 422, response.text
    assert_nul_rejection(response.json())
    assert api.get("/events/nul-1").status_code == 404
    assert_nothing_written(database)


def test_a_nul_character_in_a_key_is_422_invalid_character(api: Api, database: Database) -> None:
    product = product_payload()
    product["course"]["marketing"]["fa\x00cts"] = []

    response = post_raw(api, dumps(envelope("nul-key", product)))

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    found = [(e["code"], e["step"], e["path"], e["source_path"]) for e in answer["errors"]]
    pointer = "/course/marketing/fa\x00cts"
    assert found == [("invalid_character", "validate", pointer, pointer)]
    assert_nothing_written(database)


def test_nul_characters_in_a_batch_item_reject_it_and_the_others_are_applied(
    api: Api, database: Database
) -> None:
    events = [instructor_event("ok-1", "in-9"), envelope("nul-1", nul_product())]

    response = post_raw(api, batch_body(events), batch=True)

    results = results_of(response, 2)
    assert_applied(results[0])
    assert_nul_rejection(results[1])
    assert_only_the_good_event_written(database)


@pytest.fixture
def mapped_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> Iterator[tuple[TestClient, str]]:
    """Source `bootcamps` with an operator's mapping file (tests/transformers BOOTCAMPS_MAPPING):
    a client of the service and the source's key."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    (directory / "bootcamps.yaml").write_text(BOOTCAMPS_MAPPING)
    monkeypatch.setenv("CATALOG_GATEWAY_MAPPINGS_DIR", str(directory))
    get_settings.cache_clear()
    with database.unit_of_work() as session:
        make_organization(session, "FlatironX")
        _, key = make_source(session, "bootcamps", transformer="bootcamps", installed=["bootcamps"])
    settings = Settings(database_url=url_of(database), mappings_dir=directory, redis_url=None)
    with TestClient(create_app(settings, database)) as client:
        yield client, key.api_key
    monkeypatch.delenv("CATALOG_GATEWAY_MAPPINGS_DIR")
    get_settings.cache_clear()


def test_nul_characters_name_the_field_sent_and_the_canonical_field_it_maps_to(
    mapped_source: tuple[TestClient, str], database: Database
) -> None:
    client, key = mapped_source
    payload = {
        "bootcamp": {
            "id": "bc-ds",
            "school": "FlatironX",
            "code": "DS",
            "name": "Data\x00Science",
            "notes": "not mapped\x00",
        },
        "cohorts": [sample_cohort()],
    }
    event = {
        "event_id": "nul-map",
        "event_type": "product.upsert",
        "occurred_at": "2026-11-28T10:00:00Z",
        "payload": payload,
    }

    response = client.post(
        "/api/v1/events", content=dumps(event), headers=bearer(key) | {"Content-Type": JSON}
    )

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    found = {(e["code"], e["step"], e["path"], e["source_path"]) for e in answer["errors"]}
    assert found == {
        ("invalid_character", "validate", "/course/title", "/bootcamp/name"),
        ("invalid_character", "validate", None, "/bootcamp/notes"),
    }
    assert_nothing_written(database)


# R10: at most 100 errors per answer --------------------------------------------------------------

RUNS = 300
ERRORS_PER_RUN = 2  # its end before its start; its seat's currency in lower case


def product_with_bad_runs(runs: int = RUNS) -> dict[str, Any]:
    product = product_payload()
    product["course_runs"] = [
        run_payload(
            0,
            external_id=f"variant-{i}",
            start="2027-02-01T00:00:00Z",
            end="2027-01-01T00:00:00Z",
            enrollment_end=None,
            go_live_date=None,
            seats=[seat_payload(currency="usd")],
        )
        for i in range(runs)
    ]
    return product


def assert_truncated(answer: dict[str, Any]) -> None:
    assert answer["status"] == "rejected"
    assert len(answer["errors"]) == 100
    assert answer["errors_truncated"] == RUNS * ERRORS_PER_RUN - 100
    assert {e["code"] for e in answer["errors"]} <= {"invalid_date", "invalid_currency"}


def test_an_answer_holds_at_most_100_errors_and_says_how_many_more(api: Api) -> None:
    response = post_raw(api, dumps(envelope("many-1", product_with_bad_runs())))

    assert response.status_code == 422, response.text
    answer = response.json()
    assert_truncated(answer)
    stored = api.event("many-1")
    assert_truncated(stored)
    assert stored["errors"] == answer["errors"]
    assert api.count(CourseRun) == 0


def test_an_answer_with_few_errors_has_errors_truncated_zero(api: Api) -> None:
    response = post_raw(api, dumps(envelope("few-1", product_with_bad_runs(3))))

    assert response.status_code == 422, response.text
    answer = response.json()
    assert len(answer["errors"]) == 3 * ERRORS_PER_RUN
    assert answer["errors_truncated"] == 0
    assert api.event("few-1")["errors_truncated"] == 0


def test_a_batch_item_with_300_bad_runs_holds_100_errors_and_the_others_are_applied(
    api: Api,
) -> None:
    events = [instructor_event("ok-1"), envelope("many-1", product_with_bad_runs())]

    response = post_raw(api, batch_body(events), batch=True)

    results = results_of(response, 2)
    assert_applied(results[0])
    assert results[0]["errors_truncated"] == 0
    assert_truncated(results[1])
    assert_truncated(api.event("many-1"))
    assert api.course(COURSE_KEY) is None
