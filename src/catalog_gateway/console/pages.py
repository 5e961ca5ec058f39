"""What the event detail page shows, worked out from a stored event record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from catalog_gateway.console import jsonview
from catalog_gateway.events.log import MAX_EARLIER_ATTEMPTS, attempt_of
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import EventIssue, EventStatus, StepRecord, StepStatus
from catalog_gateway.gateway.service import EventGateway

RAW = "raw"
CANONICAL = "canonical"
_MIN_BAR = 0.4  # per cent of the timeline: a step of 0 ms still shows
SUCCESSES = frozenset({EventStatus.APPLIED, EventStatus.UNCHANGED})


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """A step of the trace placed on the event's timeline (offset and width in per cent)."""

    step: StepRecord
    offset: float
    width: float

    @property
    def failed(self) -> bool:
        """True for the step where the event failed (highlighted)."""
        return self.step.status is StepStatus.FAILED


@dataclass(frozen=True, slots=True)
class IssueView:
    """An error or a warning, and where its pointers land in the two payloads."""

    issue: EventIssue
    kind: str
    raw: jsonview.Located | None
    canonical: jsonview.Located | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of the event and the answer it got: the latest (the record's own answer) or an
    earlier one, kept when the event ran again."""

    number: int
    status: str
    retryable: bool
    finished_at: datetime | None
    duration_ms: float | None  # the whole attempt
    timeline: list[TimelineStep]
    steps_ms: float  # the part of it spent in its steps
    errors: list[EventIssue]
    errors_truncated: int
    warnings: list[EventIssue]
    latest: bool


@dataclass(frozen=True, slots=True)
class EventDetail:
    """The event detail page."""

    record: EventRecord
    timeline: list[TimelineStep]
    total_ms: float  # the steps' durations, summed (the record's duration is the whole event's)
    issues: list[IssueView]
    raw_html: Markup
    canonical_html: Markup | None
    replayable: bool
    attempts: list[Attempt]  # newest first, the latest included
    attempts_not_kept: int  # earlier attempts whose answers were not kept
    keeps_at_most: int = MAX_EARLIER_ATTEMPTS


def timeline(steps: Sequence[StepRecord]) -> tuple[list[TimelineStep], float]:
    """Steps one after the other (they run in order), scaled to the sum of their durations."""
    total = sum(step.duration_ms for step in steps)
    placed: list[TimelineStep] = []
    elapsed = 0.0
    for step in steps:
        share = step.duration_ms / total * 100 if total else 0.0
        offset = min(elapsed / total * 100 if total else 0.0, 100 - _MIN_BAR)
        placed.append(TimelineStep(step, round(offset, 3), round(max(share, _MIN_BAR), 3)))
        elapsed += step.duration_ms
    return placed, total


def event_detail(record: EventRecord) -> EventDetail:
    """The detail page of a stored event."""
    attempts = attempts_of(record)
    placed, total = attempts[0].timeline, attempts[0].steps_ms
    issues = [
        _issue_view(EventIssue.model_validate(item), kind, record)
        for items, kind in ((record.errors, jsonview.ERROR), (record.warnings, jsonview.WARNING))
        for item in items
    ]
    return EventDetail(
        record=record,
        timeline=placed,
        total_ms=total,
        issues=issues,
        raw_html=jsonview.render(
            record.raw_payload, _marks(issues, lambda view: view.raw), prefix=RAW
        ),
        canonical_html=(
            jsonview.render(
                record.canonical_payload,
                _marks(issues, lambda view: view.canonical),
                prefix=CANONICAL,
            )
            if record.canonical_payload is not None
            else None
        ),
        replayable=record.status == EventStatus.FAILED.value and record.retryable,
        attempts=attempts,
        attempts_not_kept=max(0, record.attempts - len(attempts)),
    )


def attempts_of(record: EventRecord) -> list[Attempt]:
    """The record's attempts, newest first: its own answer, then the earlier ones it kept."""
    kept = reversed(record.earlier_attempts or [])
    return [
        _attempt(attempt_of(record), latest=True),
        *(_attempt(item, latest=False) for item in kept),
    ]


def _attempt(kept: dict[str, Any], *, latest: bool) -> Attempt:
    placed, steps_ms = timeline([StepRecord.model_validate(step) for step in kept["steps"]])
    return Attempt(
        number=int(kept["attempt"]),
        status=str(kept["status"]),
        retryable=bool(kept.get("retryable")),
        finished_at=_moment(kept.get("finished_at")),
        duration_ms=kept.get("duration_ms"),
        timeline=placed,
        steps_ms=steps_ms,
        errors=[EventIssue.model_validate(item) for item in kept.get("errors") or []],
        errors_truncated=int(kept.get("errors_truncated") or 0),
        warnings=[EventIssue.model_validate(item) for item in kept.get("warnings") or []],
        latest=latest,
    )


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _issue_view(issue: EventIssue, kind: str, record: EventRecord) -> IssueView:
    return IssueView(
        issue=issue,
        kind=kind,
        raw=_locate(record.raw_payload, issue.source_path),
        canonical=_locate(record.canonical_payload, issue.path),
    )


def _locate(document: Any, pointer: str | None) -> jsonview.Located | None:
    if pointer is None or document is None:
        return None
    return jsonview.locate(document, pointer)


def _marks(
    issues: Sequence[IssueView], where: Callable[[IssueView], jsonview.Located | None]
) -> dict[str, str]:
    """Pointer → mark kind. A field that is there is marked plainly; the part nearest to a
    field that is absent only lightly (`-near`). Errors win over warnings on one field."""
    marks: dict[str, str] = {}
    for view in issues:
        located = where(view)
        if located is None:
            continue
        kind = view.kind if located.exact else f"{view.kind}-near"
        current = marks.get(located.pointer)
        if current is None or _MARK_RANK[kind] > _MARK_RANK[current]:
            marks[located.pointer] = kind
    return marks


_MARK_RANK = {
    jsonview.ERROR: 3,
    jsonview.WARNING: 2,
    f"{jsonview.ERROR}-near": 1,
    f"{jsonview.WARNING}-near": 0,
}


@dataclass(frozen=True, slots=True)
class Downstream:
    """A downstream system's circuit breaker, as this server process sees it."""

    system: str
    state: str
    retry_after: int


def downstream_state(gateway: EventGateway) -> Downstream:
    """The ecommerce breaker: `closed`, `open`, `half-open`, or `not configured`."""
    if gateway.ecommerce is None:
        return Downstream("ecommerce", "not configured", 0)
    breaker = gateway.ecommerce.breaker
    return Downstream("ecommerce", breaker.state, breaker.retry_after())
