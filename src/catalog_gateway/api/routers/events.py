"""Events: send one or a batch, read the event log, and the schemas of event types."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from catalog_gateway.api.dependencies import (
    Caller,
    Gateway,
    Paging,
    ReadSession,
    SettingsDependency,
)
from catalog_gateway.api.json_body import TextProblem, not_unicode, read_json
from catalog_gateway.api.openapi import inlined_schema, request_body
from catalog_gateway.api.problems import ProblemError, invalid_body, problem_responses
from catalog_gateway.api.protection import (
    EventsCaller,
    ThrottledReads,
    WriteGate,
    charge_more_events,
)
from catalog_gateway.api.representations import PageOut
from catalog_gateway.api.request_observation import route_of
from catalog_gateway.api.statuses import http_status
from catalog_gateway.auth.principal import Principal
from catalog_gateway.db.base import utcnow
from catalog_gateway.errors import DownstreamUnavailableError, ErrorCode
from catalog_gateway.events import log
from catalog_gateway.events.envelope import Clock, Envelope
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.payloads import payload_schema
from catalog_gateway.events.results import EventAnswer, EventIssue, EventStatus, refusal
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.engine import (
    ErrorPolicy,
    EventSet,
    apply_events,
    prepare_events,
    unavailable,
)
from catalog_gateway.gateway.intake import EventIntake
from catalog_gateway.gateway.schema_errors import field_errors
from catalog_gateway.gateway.service import EventGateway, Handled, SourceProfile
from catalog_gateway.observability.logging import log_answer
from catalog_gateway.observability.metrics import observe_answer
from catalog_gateway.settings import Settings
from catalog_gateway.text import printable

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["events"])
read_router = APIRouter(prefix="/api/v1", tags=["events"], dependencies=[ThrottledReads])

REPLAYED_HEADER = "Idempotent-Replayed"
DryRun = Annotated[
    bool, Query(description="Transform, validate and plan only; write nothing, not even the log.")
]
_EVENT_ANSWERS: dict[int | str, dict[str, Any]] = {
    status: {"model": EventAnswer, "description": description}
    for status, description in {
        200: "applied, unchanged or planned",
        403: "rejected: not_owner or event_type_not_allowed",
        409: "stale, or conflict (event_id_reused, event_in_progress)",
        422: "rejected: the transform or validation failed; nothing was written",
        502: "failed at an external step; catalog writes committed, not published",
        503: "failed (catalog_write_failed): the catalog database failed; send the same event "
        "again (the error says whether the catalog writes were kept)",
        500: "failed (internal_error, retryable): the gateway failed unexpectedly after the "
        "catalog writes were committed; they are kept, send the same event again to finish",
    }.items()
}


@router.post(
    "/events",
    summary="Send one event; answered synchronously with its step trace",
    responses={**_EVENT_ANSWERS, **problem_responses(400, 401, 403, 413, 415, 429, 503)},
    openapi_extra=request_body(Envelope),
)
async def post_event(
    request: Request,
    caller: EventsCaller,
    gateway: Gateway,
    settings: SettingsDependency,
    dry_run: DryRun = False,
) -> JSONResponse:
    async with _write_gate(request).admit(route_of(request.scope)):
        body = await read_json(request, settings.max_body_bytes, settings)
        body.refuse_bad_text()
        envelope = _envelope(body.document, _clock(settings))
        (handled,) = await _handle(_intake(request), gateway, caller, [envelope], dry_run)
    if handled.retry_after is not None:  # refused before it ran: the contract's 503 problem
        raise DownstreamUnavailableError(
            handled.answer.errors[0].message, retry_after=handled.retry_after
        )
    headers = {REPLAYED_HEADER: "true"} if handled.replayed else None
    answer = _as_sent(handled)
    _report(answer)
    return _answer_response(answer, headers)


async def _handle(
    intake: EventIntake,
    gateway: EventGateway,
    caller: Principal,
    envelopes: list[Envelope],
    dry_run: bool,
    policy: ErrorPolicy = ErrorPolicy.INDEPENDENT,
) -> list[Handled]:
    """Every event answered: prepared, then committed in the writer lane and finished (the
    engine answers a database failure there event by event). If the database fails while the
    events are prepared (the source's profile, its references, a dry run's reads), nothing was
    written: each is answered `failed`, `catalog_write_failed`, retryable."""
    try:
        prepared = await intake.prepare(_prepare, gateway, caller, envelopes, dry_run, policy)
    except SQLAlchemyError:
        logger.warning("the database failed while events were prepared", exc_info=True)
        source = caller.source_slug or ""
        return [
            Handled(unavailable(source, envelope.event_id, envelope.event_type.value))
            for envelope in envelopes
        ]
    return prepared if isinstance(prepared, list) else await intake.apply(prepared)


def _prepare(
    gateway: EventGateway,
    caller: Principal,
    envelopes: list[Envelope],
    dry_run: bool,
    policy: ErrorPolicy = ErrorPolicy.INDEPENDENT,
) -> EventSet | list[Handled]:
    """On the prepare pool: the events ready for the writer lane, or, for a dry run, their
    answers."""
    source = _profile(gateway, caller)
    if dry_run:
        return apply_events(gateway, source, envelopes, policy, dry_run=True)
    return prepare_events(gateway, source, envelopes, policy)


def _intake(request: Request) -> EventIntake:
    intake: EventIntake = request.app.state.intake
    return intake


def _as_sent(handled: Handled) -> EventAnswer:
    """The answer as it goes out: a stored one sent again says so."""
    if handled.replayed:
        return handled.answer.model_copy(update={"replayed": True})
    return handled.answer


def _report(answer: EventAnswer) -> None:
    """Count and log an answer as it is sent."""
    observe_answer(answer, source=answer.source)
    log_answer(answer, http_status(answer))


def _envelope(document: Any, clock: Clock) -> Envelope:
    try:
        return Envelope.parse(document, clock)
    except ValidationError as error:
        raise invalid_body(error.errors(include_url=False)) from None


def _clock(settings: Settings) -> Clock:
    return Clock(now=utcnow(), max_skew=timedelta(seconds=settings.max_clock_skew_seconds))


def _write_gate(request: Request) -> WriteGate:
    gate: WriteGate = request.app.state.write_gate
    return gate


class BatchRequest(BaseModel):
    """Up to `batch_max_events` events, answered one by one."""

    events: list[Any] = Field(
        description="Envelopes, as for POST /api/v1/events. An item that is not a valid "
        "envelope is answered `rejected` (`invalid_envelope`) in its place; the others are "
        "answered as usual.",
        # Any JSON value is answered; an envelope is what applies.
        json_schema_extra={"items": {"anyOf": [inlined_schema(Envelope), {}]}},
    )
    error_policy: ErrorPolicy = Field(
        default=ErrorPolicy.INDEPENDENT,
        description="`independent`: each event stands alone. `all_or_nothing`: if any event is "
        "refused, nothing of the batch is written.",
    )


class BatchAnswer(BaseModel):
    """One answer per event, in request order, and how many ended in each status."""

    results: list[EventAnswer]
    summary: dict[str, int]


@router.post(
    "/events/batch",
    summary="Send up to 500 events; each is answered, in request order",
    responses=problem_responses(400, 401, 403, 413, 415, 429, 503),
    openapi_extra=request_body(BatchRequest),
)
async def post_batch(
    request: Request,
    caller: EventsCaller,
    gateway: Gateway,
    settings: SettingsDependency,
    dry_run: DryRun = False,
) -> BatchAnswer:
    async with _write_gate(request).admit(route_of(request.scope)):
        body = await read_json(request, settings.max_batch_body_bytes, settings)
        bad_events = _bad_text_by_event(body.bad_text)
        try:
            batch = BatchRequest.model_validate(body.document)
        except ValidationError as error:
            raise invalid_body(error.errors(include_url=False)) from None
        if len(batch.events) > settings.batch_max_events:
            raise ProblemError(
                413,
                ErrorCode.BATCH_TOO_LARGE,
                f"a batch holds at most {settings.batch_max_events} events; "
                f"this one has {len(batch.events)}",
            )
        charge_more_events(request, caller, len(batch.events) - 1)
        intake = _intake(request)
        try:
            parsed = await intake.prepare(
                _parse_batch, gateway, caller, batch, bad_events, _clock(settings)
            )
        except SQLAlchemyError:  # reading the source's profile: nothing ran
            logger.warning("the database failed while a batch was read", exc_info=True)
            parsed = [_unavailable_item(caller.source_slug or "", raw) for raw in batch.events]
        answers = await _answer_batch(intake, gateway, caller, batch.error_policy, parsed, dry_run)
    summary = dict.fromkeys(
        (status.value for status in EventStatus if status is not EventStatus.IN_PROGRESS), 0
    )
    for answer in answers:
        summary[answer.status.value] += 1
        _report(answer)
    return BatchAnswer(results=answers, summary=summary)


def _bad_text_by_event(problems: list[TextProblem]) -> dict[int, list[TextProblem]]:
    """Lone surrogates inside `events[N]` refuse that event; anywhere else, the request."""
    by_event: dict[int, list[TextProblem]] = {}
    for problem in problems:
        match problem.parts:
            case ("events", int(index), *_):
                by_event.setdefault(index, []).append(problem)
            case _:
                raise not_unicode(problems)
    return by_event


def _parse_batch(
    gateway: EventGateway,
    caller: Principal,
    batch: BatchRequest,
    bad_text: dict[int, list[TextProblem]],
    clock: Clock,
) -> list[Envelope | EventAnswer]:
    """On the prepare pool: each item's envelope, or the rejection that answers it."""
    source = _profile(gateway, caller).slug
    return [
        _parse_batch_item(source, index, raw, bad_text.get(index), clock)
        for index, raw in enumerate(batch.events)
    ]


async def _answer_batch(
    intake: EventIntake,
    gateway: EventGateway,
    caller: Principal,
    policy: ErrorPolicy,
    parsed: list[Envelope | EventAnswer],
    dry_run: bool,
) -> list[EventAnswer]:
    envelopes = [item for item in parsed if isinstance(item, Envelope)]
    if policy is ErrorPolicy.ALL_OR_NOTHING and len(envelopes) < len(parsed):
        source = caller.source_slug or ""  # the profile's slug: _parse_batch read it
        return [
            item if isinstance(item, EventAnswer) else _aborted(source, item) for item in parsed
        ]
    handled = iter(
        _as_sent(h) for h in await _handle(intake, gateway, caller, envelopes, dry_run, policy)
    )
    return [next(handled) if isinstance(item, Envelope) else item for item in parsed]


def _parse_batch_item(
    source: str, index: int, raw: Any, bad_text: list[TextProblem] | None, clock: Clock
) -> Envelope | EventAnswer:
    """An envelope, or the rejection that answers a malformed one in its place (its errors'
    paths point into the batch body: `/events/<index>/…`)."""
    if bad_text:
        return _malformed_item(
            source, raw, [(problem.message, problem.path) for problem in bad_text]
        )
    base = f"/events/{index}"
    if not isinstance(raw, dict):
        kind = _JSON_TYPES.get(type(raw), "value")
        return _malformed_item(
            source, raw, [(f"must be an envelope (an object), not {kind}", base)]
        )
    try:
        return Envelope.parse(raw, clock)
    except ValidationError as error:
        return _malformed_item(
            source, raw, [(message, base + path) for _code, message, path in field_errors(error)]
        )


_JSON_TYPES = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    type(None): "null",
}


def _malformed_item(source: str, raw: Any, problems: list[tuple[str, str]]) -> EventAnswer:
    fields = raw if isinstance(raw, dict) else {}
    return EventAnswer(
        event_id=_echo(fields.get("event_id"), 128),
        event_type=_echo(fields.get("event_type"), 64),
        source=source,
        status=EventStatus.REJECTED,
        errors=[
            EventIssue(code=ErrorCode.INVALID_ENVELOPE, message=message, step="envelope", path=path)
            for message, path in problems
        ],
    )


def _unavailable_item(source: str, raw: Any) -> EventAnswer:
    """A batch item answered `catalog_write_failed` before it was read (nothing ran)."""
    fields = raw if isinstance(raw, dict) else {}
    return unavailable(
        source, _echo(fields.get("event_id"), 128), _echo(fields.get("event_type"), 64)
    )


def _echo(value: Any, limit: int) -> str:
    """A client's identifier sent back in an answer: printable, bounded, or empty."""
    return printable(value[:limit]) if isinstance(value, str) else ""


def _aborted(source: str, envelope: Envelope) -> EventAnswer:
    return refusal(
        event_id=envelope.event_id,
        event_type=envelope.event_type.value,
        source=source,
        code=ErrorCode.BATCH_ABORTED,
        message="not applied: an envelope of this all_or_nothing batch is malformed, "
        "so nothing of the batch was written",
        step="batch",
    )


class EventRecordOut(EventAnswer):
    """An event as the log keeps it."""

    occurred_at: datetime
    received_at: datetime
    updated_at: datetime
    attempts: int = Field(description="How many times the event was run (resumes included).")


class EventDetailOut(EventRecordOut):
    """One event with its payloads: as the source sent it, and in the canonical shape."""

    raw_payload: dict[str, Any]
    canonical_payload: dict[str, Any] | None


@read_router.get(
    "/events",
    summary="The event log: the caller's events (an admin sees all)",
    responses=problem_responses(400, 401, 403, 404, 429),
)
def list_events(
    session: ReadSession,
    caller: Caller,
    paging: Paging,
    status: Annotated[EventStatus | None, Query()] = None,
    event_type: Annotated[EventType | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Received at or after.")] = None,
    source: Annotated[str | None, Query(description="Admin only: one source's events.")] = None,
) -> PageOut[EventRecordOut]:
    filters = log.EventFilter(
        source_id=_source_scope(session, caller, source),
        status=status.value if status else None,
        event_type=event_type.value if event_type else None,
        since=since,
    )
    page = log.list_events(session, filters, cursor=paging.cursor, limit=paging.limit)
    return PageOut(results=[_record_out(record) for record in page.results], next=page.next)


@read_router.get(
    "/events/{event_id:path}",
    summary="One event's stored answer and payloads",
    responses=problem_responses(400, 401, 403, 404, 429),
)
def get_event(
    session: ReadSession,
    caller: Caller,
    event_id: str,
    source: Annotated[str | None, Query(description="Admin only: the event's source.")] = None,
) -> EventDetailOut:
    source_id = _source_scope(session, caller, source)
    if source_id is None:
        raise ProblemError(400, ErrorCode.INVALID_REQUEST, "an admin must name the ?source=")
    record = log.get_event(session, source_id, event_id)
    if record is None:
        raise ProblemError(404, ErrorCode.NOT_FOUND, f"no event {event_id!r}")
    return EventDetailOut(
        **_record_out(record).model_dump(),
        raw_payload=record.raw_payload,
        canonical_payload=record.canonical_payload,
    )


class EventTypeOut(BaseModel):
    """An event type and where its canonical schema is."""

    name: EventType
    description: str
    schema_url: str


@router.get("/event-types", summary="The event types", tags=["schemas"])
def list_event_types() -> list[EventTypeOut]:
    from catalog_gateway.events.payloads import PAYLOAD_MODELS

    return [
        EventTypeOut(
            name=event_type,
            description=(PAYLOAD_MODELS[event_type].__doc__ or "").strip(),
            schema_url=f"/api/v1/event-types/{event_type.value}/schema",
        )
        for event_type in EventType
    ]


@router.get(
    "/event-types/{name}/schema",
    summary="The canonical JSON Schema of an event type's payload",
    tags=["schemas"],
    responses=problem_responses(404),
)
def event_type_schema(name: str) -> dict[str, Any]:
    return payload_schema(_event_type(name))


@router.get(
    "/sources/{slug}/schema/{event_type}",
    summary="The source's own input JSON Schema for an event type, if its transformer declares one",
    tags=["schemas"],
    responses=problem_responses(404),
)
def source_schema(
    session: ReadSession, gateway: Gateway, slug: str, event_type: str
) -> dict[str, Any]:
    source = log.source_by_slug(session, slug)
    if source is None:
        raise ProblemError(404, ErrorCode.NOT_FOUND, f"no source {slug!r}")
    schema = gateway.transformers.get(source.transformer).input_schema(_event_type(event_type))
    if schema is None:
        raise ProblemError(
            404,
            ErrorCode.NOT_FOUND,
            f"transformer {source.transformer!r} declares no input schema for {event_type}",
        )
    return schema


def _profile(gateway: Gateway, caller: Principal) -> SourceProfile:
    assert caller.source_id is not None
    profile = gateway.profile(caller.source_id)
    if profile is None:
        raise ProblemError(401, ErrorCode.UNAUTHORIZED, "the key's source no longer exists")
    return profile


def _answer_response(answer: EventAnswer, headers: dict[str, str] | None = None) -> JSONResponse:
    status = http_status(answer)
    if status == 503:
        headers = {**(headers or {}), "Retry-After": "1"}
    return JSONResponse(answer.model_dump(mode="json"), status_code=status, headers=headers)


def _event_type(name: str) -> EventType:
    try:
        return EventType(name)
    except ValueError:
        raise ProblemError(404, ErrorCode.NOT_FOUND, f"no event type {name!r}") from None


def _source_scope(session: ReadSession, caller: Principal, source: str | None) -> int | None:
    """A source sees its own events; an admin sees all, or one source's with ?source=."""
    if not caller.is_admin:
        if source is not None and source != caller.source_slug:
            raise ProblemError(403, ErrorCode.FORBIDDEN, "a source reads only its own events")
        return caller.source_id
    if source is None:
        return None
    found = log.source_by_slug(session, source)
    if found is None:
        raise ProblemError(404, ErrorCode.NOT_FOUND, f"no source {source!r}")
    return found.id


def _record_out(record: EventRecord) -> EventRecordOut:
    answer = log.answer_of(record)
    return EventRecordOut(
        **answer.model_dump(),
        occurred_at=record.occurred_at,
        received_at=record.received_at,
        updated_at=record.updated_at,
        attempts=record.attempts,
    )
