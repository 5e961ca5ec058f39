"""The HTTP status an event answer is sent with (the contract's table, docs/events.md).

An answer is HTTP-agnostic (the engine and the event log know only its status); the API maps
it here, and the console and the logs show what the API sends.
"""

from __future__ import annotations

from catalog_gateway.errors import ErrorCode
from catalog_gateway.events.results import EventAnswer, EventStatus

HTTP_STATUS = {
    EventStatus.APPLIED: 200,
    EventStatus.UNCHANGED: 200,
    EventStatus.PLANNED: 200,
    EventStatus.REJECTED: 422,
    EventStatus.STALE: 409,
    EventStatus.CONFLICT: 409,
    EventStatus.FAILED: 502,
    EventStatus.IN_PROGRESS: 409,
}
_FORBIDDEN_CODES = frozenset({ErrorCode.NOT_OWNER, ErrorCode.EVENT_TYPE_NOT_ALLOWED})


def status_of(status: EventStatus, codes: set[str]) -> int:
    """The HTTP status of an answer with this status and these error codes."""
    if status is EventStatus.REJECTED and codes & _FORBIDDEN_CODES:
        return 403
    if status is EventStatus.FAILED and ErrorCode.CATALOG_WRITE_FAILED in codes:
        return 503
    if status is EventStatus.FAILED and ErrorCode.INTERNAL_ERROR in codes:
        return 500
    return HTTP_STATUS[status]


def http_status(answer: EventAnswer) -> int:
    """The HTTP status this answer is sent with."""
    return status_of(answer.status, {error.code for error in answer.errors})
