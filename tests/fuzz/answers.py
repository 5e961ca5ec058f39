"""What every answer of the write endpoints must say about a refused input: where it is.

Shared by the hostile-input properties and the schemathesis check of the write endpoints.

- A 4xx problem (`application/problem+json`) names a place: an `errors` list of
  `{path, message}` with JSON Pointers, or an integer `offset` (with `line` and `column`, when
  present, integers too) for a body that cannot be parsed. 401/403/405/413/415/429 are about the
  request as a whole and need no place; `invalid_request` (a malformed query parameter) names
  the parameter in its `detail`.
- An event answer that is not a success has errors, each with a `path` or a `source_path`
  (JSON Pointers) or an event-level code; in a batch, envelope errors of `results[N]` point
  into the batch body (`/events/N/...`).
"""

from __future__ import annotations

import re
from typing import Any

PROBLEM_JSON = "application/problem+json"
# Error codes about the whole event, which need no path.
EVENT_LEVEL_CODES = frozenset(
    {
        "event_type_not_allowed",
        "event_id_reused",
        "event_in_progress",
        "stale",
        "batch_aborted",
        "transform_failed",
    }
)
# Problems about the request as a whole, not a place in its body.
NO_PLACE_STATUSES = frozenset({401, 403, 405, 413, 415, 429})
# The code of a malformed query parameter (e.g. `?dry_run=maybe`): not about the body; the
# parameter is named in `detail`.
PARAMETER_CODE = "invalid_request"
SUCCESS = frozenset({"applied", "unchanged", "planned"})
FINAL = frozenset({"applied", "unchanged", "planned", "rejected", "failed", "stale", "conflict"})
HTTP_OF_STATUS = {"rejected": {403, 422}, "stale": {409}, "conflict": {409}}
JSON_POINTER = re.compile(r"^(/([^~/]|~[01])*)*$")


def assert_pointer(value: Any, what: str) -> None:
    assert isinstance(value, str), f"{value!r} is not a JSON Pointer: {what}"
    assert JSON_POINTER.fullmatch(value), f"{value!r} is not a JSON Pointer: {what}"


def assert_problem_names_a_place(
    status: int, problem: Any, what: str, body_size: int | None = None
) -> None:
    """A problem document that names where the body is wrong (unless about the whole request).
    `body_size`, when known, bounds the `offset`."""
    assert isinstance(problem, dict), what
    assert problem.get("status") == status, what
    assert isinstance(problem.get("code"), str), what
    assert isinstance(problem.get("detail"), str), what
    assert problem["detail"], what
    if status in NO_PLACE_STATUSES:
        return
    if problem["code"] == PARAMETER_CODE:
        assert "query." in problem["detail"], f"{PARAMETER_CODE} not about a parameter: {what}"
        return
    errors = problem.get("errors")
    if errors:
        assert isinstance(errors, list), what
        for error in errors:
            assert isinstance(error, dict), what
            assert_pointer(error.get("path"), what)
            assert isinstance(error.get("message"), str), what
            assert error["message"], what
        return
    offset = problem.get("offset")
    assert type(offset) is int, f"a {status} problem names no place (no errors, no offset): {what}"
    assert offset >= 0, what
    if body_size is not None:
        assert offset <= body_size, f"offset {offset} past the body's {body_size} bytes: {what}"
    for member in ("line", "column"):
        if member in problem:
            value = problem[member]
            assert type(value) is int, what
            assert value >= 1, what


def assert_event_answer(
    answer: Any, what: str, *, index: int | None = None, http_status: int | None = None
) -> None:
    """An event answer (alone, with its HTTP status; or `results[index]` of a batch) whose
    errors name a place."""
    assert isinstance(answer, dict), what
    status = answer.get("status")
    assert status in FINAL, f"answer status {status!r}: {what}"
    if http_status is not None:
        if status in SUCCESS:
            assert http_status == 200, what
        elif status in HTTP_OF_STATUS:
            assert http_status in HTTP_OF_STATUS[status], what
    if status in SUCCESS:
        return
    errors = answer.get("errors")
    assert isinstance(errors, list), what
    assert errors, f"a {status} answer without errors: {what}"
    for error in errors:
        code = error.get("code")
        path, source_path = error.get("path"), error.get("source_path")
        if path is not None:
            assert_pointer(path, what)
        if source_path is not None:
            assert_pointer(source_path, what)
        assert path is not None or source_path is not None or code in EVENT_LEVEL_CODES, (
            f"error {error} names no place: {what}"
        )
        if index is not None and code == "invalid_envelope":
            assert (path or "").startswith(f"/events/{index}"), (
                f"results[{index}]: envelope error not relative to the batch body: {what}"
            )


def assert_batch_answer(answer: Any, events: list[Any] | None, what: str) -> None:
    """A 200 batch answer: one result per event sent (when known), each naming its places."""
    assert isinstance(answer, dict), what
    results = answer.get("results")
    assert isinstance(results, list), what
    if events is not None:
        assert len(results) == len(events), (
            f"{len(results)} results for {len(events)} events: {what}"
        )
    assert sum(answer["summary"].values()) == len(results), what
    for index, result in enumerate(results):
        assert_event_answer(result, what, index=index)
