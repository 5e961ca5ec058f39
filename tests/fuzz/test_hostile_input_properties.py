"""Hostile input on the write endpoints, as properties (issue 11), on both databases.

Bodies sent to `POST /api/v1/events` and `POST /api/v1/events/batch`, all with
`Content-Type: application/json`:

(a) arbitrary JSON values (and envelope- or batch-shaped objects with arbitrary members);
(b) arbitrary bytes, and JSON text broken at some point (a stray byte, a truncation, `NaN`, a
    number of 5,000 digits, 5,000 nested brackets, bytes that are not UTF-8, …);
(c) valid envelopes whose payload strings and keys are arbitrary Unicode: lone surrogates
    (written as the JSON escape `\\udXXX` in the raw bytes), NUL, RTL marks, emoji, …;
(d) the same inside batches, with items that are not objects, under both error policies.

For every answer:

- it is never a server error (5xx);
- a 4xx problem (`application/problem+json`) names a place: an `errors` list of
  `{path, message}` with JSON Pointers, or an integer `offset` (with `line`/`column`, when
  present, integers too) for a body that cannot be parsed; 401/403/413/415/429 need no place;
- a 4xx event answer has errors, each with a `path` or a `source_path`, or an event-level code;
- a batch's 200 answer has one result per event, in order (the same `event_id` where the item
  had a valid one), and each result obeys the rule above;
- a problem answer writes nothing (no event record, no catalog row).

After every example, nothing is written without a stored answer: no event record is left
`in_progress`, and every course, run, instructor and degree is listed in the `products` of a
stored record whose status says it wrote (`applied`, `unchanged`, `failed`); every event
answered `applied` has its record stored `applied`.

Where the spec fixes the answer, (c) and (d) check it too: a lone surrogate → 400
`malformed_json` naming the string or key that holds it (in a batch: that item rejected with
`invalid_envelope` at `/events/N/...`); NUL in the payload → 422 `invalid_character` whose
`source_path` names the string or key that holds it, nothing written; an item that is not an
object → `invalid_envelope` at `/events/N`.

The database is emptied of events and catalog rows before each example. Examples are
derandomized and no example database is kept, so CI runs the same examples every time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from catalog_gateway.catalog.models import Course, CourseRun, Degree, Instructor, Seat
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from tests.factories import bearer
from tests.fuzz.answers import (
    FINAL,
    PROBLEM_JSON,
    SUCCESS,
    assert_batch_answer,
    assert_event_answer,
    assert_problem_names_a_place,
)
from tests.fuzz.service import BATCH, EVENTS, exec_ed_client, property_settings, reset_examples
from tests.gateway.payloads import (
    course_payload,
    instructor_payload,
    occurred,
    product_payload,
    run_payload,
)

MAX_EXAMPLES = 100

WROTE = frozenset({"applied", "unchanged", "failed"})
EVENT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")

# --- strategies ---------------------------------------------------------------------------

LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"]
SPECIAL = [
    "\x00",
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u200b",  # ZERO WIDTH SPACE
    "\ufeff",  # BOM
    "\uffff",
    "\u0301",  # a combining accent, alone
    "😀",
    "👩\u200d💻",
    "🇫🇷",
    "\U0010ffff",
    "\n",
    "\t",
    '"',
    "\\",
    "/",
    "~",
    "<script>",
]
# Any code point, surrogates included.
any_character = st.characters(exclude_categories=())
# Text a person might really send: RTL marks, emoji, combining marks; no surrogates, no NUL.
display_text = st.lists(
    st.one_of(
        st.sampled_from([c for c in SPECIAL if c != "\x00"]),
        st.characters(exclude_characters="\x00"),
    ),
    min_size=1,
    max_size=10,
).map("".join)
# Text with NUL characters, and no surrogates.
nul_text = st.lists(
    st.one_of(st.just("\x00"), st.characters(exclude_characters="\x00")), min_size=1, max_size=6
).map(lambda parts: "".join(parts) if "\x00" in parts else "\x00" + "".join(parts))
# Text that may hold anything: lone surrogates, NUL, any code point.
hostile_text = st.one_of(
    display_text,
    display_text,
    nul_text,
    st.lists(
        st.one_of(st.sampled_from(LONE_SURROGATES), st.sampled_from(SPECIAL), any_character),
        max_size=12,
    ).map("".join),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(hostile_text, children, max_size=4),
    ),
    max_leaves=12,
)
event_ids = st.sampled_from([f"evt-{i}" for i in range(4)])
event_types = st.sampled_from(
    ["instructor.upsert", "course.upsert", "product.upsert", "course_run.upsert", "degree.upsert"]
)


def _base_payload(event_type: str) -> dict[str, Any]:
    """A valid payload of `event_type` for `exec-ed`."""
    if event_type == "instructor.upsert":
        return {"instructor": instructor_payload("in-1")}
    if event_type == "course.upsert":
        return {"course": course_payload()}
    if event_type == "course_run.upsert":
        return {"course": {"external_id": "xe-7001"}, "run": run_payload(0)}
    return product_payload()


FREE_TEXT = frozenset(
    {
        "title",
        "short_description",
        "full_description",
        "outcome",
        "syllabus",
        "prerequisites",
        "faq",
        "learner_testimonials",
        "given_name",
        "family_name",
        "bio",
        "heading",
        "blurb",
    }
)
# Events that can be applied to an empty catalog.
BASE_EVENT_TYPES = ["instructor.upsert", "course.upsert", "product.upsert"]
Path = tuple[str | int, ...]


def _string_leaves(node: Any, path: Path = ()) -> list[Path]:
    if isinstance(node, str):
        return [path]
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _string_leaves(value, (*path, key))]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _string_leaves(value, (*path, i))]
    return []


def _objects(node: Any, path: Path = ()) -> list[Path]:
    if isinstance(node, dict):
        return [path] + [
            found for key, value in node.items() for found in _objects(value, (*path, key))
        ]
    if isinstance(node, list):
        return [found for i, value in enumerate(node) for found in _objects(value, (*path, i))]
    return []


def _at(node: Any, path: Path) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def hostile_payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid payload with 1 to 3 of its strings replaced or extended by hostile text, and
    sometimes a member with a hostile key added somewhere."""
    event_type = draw(st.sampled_from(BASE_EVENT_TYPES))
    payload = _base_payload(event_type)
    leaves = _string_leaves(payload)
    # Free text three times as likely: hostile text there may well be applied.
    weighted = leaves + [leaf for leaf in leaves if leaf[-1] in FREE_TEXT] * 2
    for path in draw(st.lists(st.sampled_from(weighted), min_size=1, max_size=3, unique=True)):
        original = _at(payload, path)
        text_ = draw(hostile_text)
        how = draw(st.sampled_from(["replace", "append", "prepend"]))
        new = {"replace": text_, "append": original + text_, "prepend": text_ + original}[how]
        _at(payload, path[:-1])[path[-1]] = new
    if draw(st.integers(min_value=0, max_value=2)) == 0:
        container = _at(payload, draw(st.sampled_from(_objects(payload))))
        container[draw(hostile_text)] = draw(st.one_of(hostile_text, scalars))
    return event_type, payload


@st.composite
def hostile_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    event_type, payload = draw(hostile_payloads())
    return {
        "event_id": draw(event_ids),
        "event_type": event_type,
        "occurred_at": occurred(draw(st.integers(min_value=0, max_value=3))),
        "payload": payload,
    }


@st.composite
def valid_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(BASE_EVENT_TYPES))
    return {
        "event_id": draw(event_ids),
        "event_type": event_type,
        "occurred_at": occurred(draw(st.integers(min_value=0, max_value=3))),
        "payload": _base_payload(event_type),
    }


envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.one_of(event_ids, json_values),
        "event_type": st.one_of(event_types, json_values),
        "occurred_at": st.one_of(st.just(occurred()), json_values),
        "payload": st.one_of(event_types.map(_base_payload), json_values),
        "extra": json_values,
    },
)
non_objects = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
    st.lists(scalars, max_size=3),
)
batch_like = st.fixed_dictionaries(
    {"events": st.one_of(st.lists(st.one_of(envelope_like, json_values), max_size=4), json_values)},
    optional={
        "error_policy": st.one_of(st.sampled_from(["independent", "all_or_nothing"]), json_values)
    },
)
whole_bodies = st.one_of(json_values, envelope_like, batch_like)
# Serialized with every non-ASCII character escaped, or as UTF-8; lone surrogates are written
# as `\udXXX` escapes either way.
ascii_only = st.booleans()
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8"])

BROKEN = [
    b"",
    b",",
    b"}",
    b"]",
    b":",
    b'"',
    b"\\",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # a surrogate encoded as UTF-8 (not UTF-8)
    b"\xef\xbb\xbf",  # a BOM
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1" * 5000,
    b"[" * 5000,
    b'{"a":' * 5000,
    b'"\\ud800"',
    b'"\\u00"',
    b"\r\n",
]


@st.composite
def broken_json(draw: st.DrawFn) -> bytes:
    """A valid envelope or batch as JSON text, broken at one point."""
    document: Any = draw(valid_envelopes())
    if draw(st.booleans()):
        document = {"events": [document], "error_policy": "independent"}
    raw = encode(document, draw(ascii_only))
    at = draw(st.integers(min_value=0, max_value=len(raw)))
    snippet = draw(st.sampled_from(BROKEN))
    how = draw(st.sampled_from(["insert", "replace", "truncate"]))
    if how == "insert":
        return raw[:at] + snippet + raw[at:]
    if how == "replace":
        return raw[:at] + snippet + raw[at + max(len(snippet), 1) :]
    return raw[:at]


byte_bodies = st.one_of(st.binary(max_size=300), broken_json())


def encode(document: Any, ascii_only: bool) -> bytes:
    """JSON text of `document`; lone surrogates become `\\udXXX` escapes in the bytes."""
    if ascii_only:
        return json.dumps(document, ensure_ascii=True).encode("ascii")
    # The only characters UTF-8 cannot encode are surrogates; backslashreplace writes each as
    # `\udXXX`, which inside a JSON string is exactly its escape.
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "backslashreplace")


# --- reading what was sent ----------------------------------------------------------------


def _is_surrogate(character: str) -> bool:
    return 0xD800 <= ord(character) <= 0xDFFF


def has_lone_surrogate(value: str) -> bool:
    """After parsing, a surrogate left in a string is a lone one (pairs were combined)."""
    return any(_is_surrogate(c) for c in value)


def has_nul(value: str) -> bool:
    return "\x00" in value


def holds(node: Any, predicate: Any) -> bool:
    """Whether any string or key in `node` satisfies `predicate`."""
    if isinstance(node, str):
        return bool(predicate(node))
    if isinstance(node, dict):
        return any(predicate(k) or holds(v, predicate) for k, v in node.items())
    if isinstance(node, list):
        return any(holds(v, predicate) for v in node)
    return False


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def names_a_place_holding(document: Any, pointer: str, predicate: Any) -> bool:
    """Whether `pointer` names, in `document`, a string that satisfies `predicate` or a member
    whose key does (a key holding such characters may be written differently in a pointer,
    so reaching an object that has such a key also counts)."""
    node = document
    for token in _tokens(pointer):
        if isinstance(node, dict):
            if token in node:
                if predicate(token):
                    return True
                node = node[token]
            else:
                return any(predicate(key) for key in node)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return isinstance(node, str) and bool(predicate(node))


def parsed(body: bytes) -> Any:
    """The body as Python's lenient parser reads it (lone surrogates kept), or None."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def _kind(item: Any) -> str:
    """What is hostile in a sent event, for the statistics."""
    if not isinstance(item, dict):
        return "not an object"
    if holds(item, has_lone_surrogate):
        return "a lone surrogate"
    if holds(item, has_nul):
        return "NUL"
    return "other text"


# --- the service --------------------------------------------------------------------------


@dataclass
class Service:
    client: TestClient
    database: Database
    key: str

    def post(
        self, path: str, body: bytes, content_type: str = "application/json"
    ) -> httpx.Response:
        headers = {**bearer(self.key), "Content-Type": content_type}
        return self.client.post(path, content=body, headers=headers)

    def reset(self) -> None:
        """Remove every event and catalog row; keep the source, its key and organizations."""
        reset_examples(self.database)

    def counts(self) -> dict[str, int]:
        with self.database.read() as session:
            return {
                model.__tablename__: int(
                    session.scalar(select(func.count()).select_from(model)) or 0
                )
                for model in (EventRecord, Course, CourseRun, Seat, Instructor, Degree)
            }

    def stored_status(self, event_id: str) -> str | None:
        with self.database.read() as session:
            status: str | None = session.scalar(
                select(EventRecord.status).where(EventRecord.event_id == event_id)
            )
            return status


@pytest.fixture
def service(database: Database) -> Iterator[Service]:
    """The service on the test database (SQLite, then PostgreSQL), with source `exec-ed`."""
    with exec_ed_client(database) as (client, key):
        yield Service(client, database, key)


# --- the properties of one answer ---------------------------------------------------------


def _what(response: httpx.Response, body: bytes) -> str:
    sent = body if len(body) <= 400 else body[:400] + b"..."
    return f"sent {sent!r}\ngot {response.status_code} {response.text[:2000]}"


def check_single(service: Service, body: bytes, content_type: str = "application/json") -> Any:
    """POST `body` as one event, check the answer; the answer body."""
    before = service.counts()
    response = service.post(EVENTS, body, content_type)
    what = _what(response, body)
    assert response.status_code < 500, what
    content = response.headers.get("content-type", "")
    if response.status_code >= 400 and content.startswith(PROBLEM_JSON):
        assert_problem_names_a_place(response.status_code, response.json(), what, len(body))
        assert service.counts() == before, f"a problem answer wrote: {what}"
        event(f"event: {response.status_code} {response.json()['code']}")
        return response.json()
    assert content.startswith("application/json"), what
    answer = response.json()
    assert_event_answer(answer, what, http_status=response.status_code)
    codes = ", ".join(sorted({error["code"] for error in answer["errors"]}))
    event(f"event: {response.status_code} {answer['status']} {codes}".rstrip())
    if answer["status"] == "applied":
        assert service.stored_status(answer["event_id"]) == "applied", what
    return answer


def check_batch(service: Service, body: bytes, content_type: str = "application/json") -> Any:
    """POST `body` as a batch, check the answer; the answer body."""
    before = service.counts()
    response = service.post(BATCH, body, content_type)
    what = _what(response, body)
    assert response.status_code < 500, what
    content = response.headers.get("content-type", "")
    if response.status_code >= 400:
        assert content.startswith(PROBLEM_JSON), what
        assert_problem_names_a_place(response.status_code, response.json(), what, len(body))
        assert service.counts() == before, f"a problem answer wrote: {what}"
        event(f"batch: {response.status_code} {response.json()['code']}")
        return response.json()
    assert response.status_code == 200, what
    answer = response.json()
    document = parsed(body)
    assert isinstance(document, dict), what
    assert isinstance(document.get("events"), list), what
    items = document["events"]
    assert_batch_answer(answer, items, what)
    results = answer["results"]
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        event(f"batch: 200, an event {result['status']}")
        event_id = item.get("event_id") if isinstance(item, dict) else None
        if isinstance(event_id, str) and EVENT_ID.fullmatch(event_id):
            assert result["event_id"] == event_id, f"results[{index}] out of order: {what}"
        if result["status"] == "applied" and not result["replayed"]:
            assert service.stored_status(result["event_id"]) == "applied", what
    if document.get("error_policy") == "all_or_nothing" and any(
        result["status"] not in SUCCESS for result in results
    ):
        assert not any(r["status"] == "applied" and not r["replayed"] for r in results), what
    return answer


def assert_every_write_has_a_stored_answer(service: Service) -> None:
    with service.database.read() as session:
        records = session.execute(
            select(EventRecord.event_id, EventRecord.status, EventRecord.products)
        ).all()
        courses = set(session.scalars(select(Course.key)))
        runs = set(session.scalars(select(CourseRun.key)))
        instructors = {str(u) for u in session.scalars(select(Instructor.uuid))}
        degrees = set(session.scalars(select(Degree.marketing_slug)))
    left = [event_id for event_id, status, _ in records if status not in FINAL]
    assert not left, f"event records left unfinished: {left}"
    listed: dict[str, set[str]] = {
        kind: set() for kind in ("courses", "course_runs", "instructors", "degrees")
    }
    for _, status, products in records:
        if status in WROTE:
            for kind, keys in (products or {}).items():
                listed.setdefault(kind, set()).update(keys)
    for kind, rows in [
        ("courses", courses),
        ("course_runs", runs),
        ("instructors", instructors),
        ("degrees", degrees),
    ]:
        unanswered = rows - listed[kind]
        assert not unanswered, f"{kind} written without a stored answer: {sorted(unanswered)}"


# --- the properties -----------------------------------------------------------------------

PROPERTY_SETTINGS = property_settings(MAX_EXAMPLES, HealthCheck.filter_too_much)


@PROPERTY_SETTINGS
@given(document=whole_bodies, ascii=ascii_only)
def test_any_json_body_is_answered_with_a_place_and_nothing_unanswered_is_written(
    service: Service, document: Any, ascii: bool
) -> None:
    service.reset()
    body = encode(document, ascii)
    check_single(service, body)
    check_batch(service, body)
    assert_every_write_has_a_stored_answer(service)


@PROPERTY_SETTINGS
@given(body=byte_bodies, content_type=content_types)
def test_any_bytes_are_answered_with_a_place_and_nothing_unanswered_is_written(
    service: Service, body: bytes, content_type: str
) -> None:
    service.reset()
    check_single(service, body, content_type)
    check_batch(service, body, content_type)
    assert_every_write_has_a_stored_answer(service)


@PROPERTY_SETTINGS
@given(envelope=hostile_envelopes(), ascii=ascii_only)
def test_hostile_unicode_in_an_event_is_answered_at_its_place(
    service: Service, envelope: dict[str, Any], ascii: bool
) -> None:
    service.reset()
    body = encode(envelope, ascii)
    document = parsed(body)
    event(f"sent: {_kind(document)}")
    answer = check_single(service, body)
    if holds(document, has_lone_surrogate):
        assert answer.get("code") == "malformed_json", answer
        assert "surrogate" in answer["detail"].lower(), answer
        assert answer.get("errors"), answer
        path = answer["errors"][0]["path"]
        assert path.startswith("/payload"), answer
        assert names_a_place_holding(document, path, has_lone_surrogate), answer
    elif holds(document["payload"], has_nul):
        assert answer.get("status") == "rejected", answer
        located = [e for e in answer["errors"] if e["code"] == "invalid_character"]
        assert located, answer
        for error in located:
            assert error["step"] == "validate", answer
            assert error["source_path"] is not None, answer
            assert names_a_place_holding(document["payload"], error["source_path"], has_nul), answer
    refused_early = answer.get("code") == "malformed_json" or (
        answer.get("status") == "rejected"
        and any(e["code"] == "invalid_character" for e in answer["errors"])
    )
    if refused_early:
        assert not any(service.counts().values()), (
            f"refused before anything ran, yet wrote: {answer}"
        )
    assert_every_write_has_a_stored_answer(service)


@st.composite
def hostile_batches(draw: st.DrawFn) -> dict[str, Any]:
    items = draw(
        st.lists(
            st.one_of(hostile_envelopes(), valid_envelopes(), non_objects),
            min_size=1,
            max_size=5,
        )
    )
    policy = draw(st.sampled_from(["independent", "all_or_nothing"]))
    return {"events": items, "error_policy": policy}


@PROPERTY_SETTINGS
@given(batch=hostile_batches(), ascii=ascii_only)
def test_hostile_unicode_in_a_batch_is_answered_per_event_in_order(
    service: Service, batch: dict[str, Any], ascii: bool
) -> None:
    service.reset()
    body = encode(batch, ascii)
    document = parsed(body)
    for item in document["events"]:
        event(f"sent: {_kind(item)}")
    answer = check_batch(service, body)
    assert "results" in answer, f"a batch with hostile events refused as a whole: {answer}"
    all_or_nothing = batch["error_policy"] == "all_or_nothing"
    for index, (item, result) in enumerate(zip(document["events"], answer["results"], strict=True)):
        what = f"results[{index}] = {json.dumps(result)}"
        envelope_paths = [e["path"] for e in result["errors"] if e["code"] == "invalid_envelope"]
        if holds(item, has_lone_surrogate):
            # R1 (and R8 when the item is not an object: its own path names it too).
            assert result["status"] == "rejected", what
            assert any(
                names_a_place_holding(document, path, has_lone_surrogate)
                or (not isinstance(item, dict) and path == f"/events/{index}")
                for path in envelope_paths
            ), what
        elif not isinstance(item, dict):
            # R8.
            assert result["status"] == "rejected", what
            assert f"/events/{index}" in envelope_paths, what
        elif holds(item["payload"], has_nul):
            # R9; under all_or_nothing another event may have been the one refused.
            assert result["status"] == "rejected", what
            codes = {error["code"] for error in result["errors"]}
            if all_or_nothing and codes == {"batch_aborted"}:
                continue
            located = [e for e in result["errors"] if e["code"] == "invalid_character"]
            assert located, what
            for error in located:
                assert names_a_place_holding(item["payload"], error["source_path"], has_nul), what
    if all_or_nothing and any(r["status"] not in SUCCESS for r in answer["results"]):
        assert not any(service.counts().values()), "an all_or_nothing batch refused, yet wrote"
    assert_every_write_has_a_stored_answer(service)
