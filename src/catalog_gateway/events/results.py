"""The answer to an event (DESIGN §4): status, step trace, products, errors and warnings."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from catalog_gateway.errors import ErrorCode

MAX_ERRORS = 100
"""Errors listed in one answer; the rest are counted in `errors_truncated`."""


class EventStatus(StrEnum):
    """How an event ended."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    PLANNED = "planned"
    REJECTED = "rejected"
    FAILED = "failed"
    STALE = "stale"
    CONFLICT = "conflict"
    IN_PROGRESS = "in_progress"


class StepStatus(StrEnum):
    """How one step ended."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    PLANNED = "planned"


class System(StrEnum):
    """Where a step acts."""

    GATEWAY = "gateway"
    CATALOG = "catalog"
    ECOMMERCE = "ecommerce"


class EventIssue(BaseModel):
    """An error or a warning: what, where in the canonical payload, and where in the source's."""

    code: ErrorCode = Field(description="Machine-readable; see docs/events.md.")
    message: str = Field(description="Written for the integrator.")
    step: str = Field(description="The step that found it.", examples=["validate"])
    path: str | None = Field(
        default=None,
        description="JSON Pointer into the canonical payload.",
        examples=["/course_runs/0/end"],
    )
    source_path: str | None = Field(
        default=None,
        description="JSON Pointer into the payload as the source sent it.",
        examples=["/variant/endDate"],
    )
    detail: str | None = Field(default=None, description="Raw detail from a downstream system.")


class StepRecord(BaseModel):
    """One step of the trace."""

    name: str = Field(examples=["course.upsert"])
    status: StepStatus
    duration_ms: float = 0.0
    target: str | None = Field(default=None, examples=["course:MITx+DS101"])
    action: str | None = Field(default=None, examples=["created"])
    system: System = System.GATEWAY
    detail: str | None = None


class Products(BaseModel):
    """What the event touched, by public identity."""

    courses: list[str] = Field(default_factory=list)
    course_runs: list[str] = Field(default_factory=list)
    instructors: list[str] = Field(default_factory=list)
    degrees: list[str] = Field(default_factory=list)


class EventAnswer(BaseModel):
    """The answer to one event; also what the event log keeps."""

    event_id: str
    event_type: str
    source: str
    status: EventStatus
    retryable: bool = False
    duration_ms: float = 0.0
    steps: list[StepRecord] = Field(default_factory=list)
    products: Products = Field(default_factory=Products)
    errors: list[EventIssue] = Field(default_factory=list)
    warnings: list[EventIssue] = Field(default_factory=list)
    errors_truncated: int = Field(
        default=0,
        description=f"How many more errors there were beyond the first {MAX_ERRORS} listed.",
    )
    replayed: bool = Field(
        default=False,
        description="True when this is the stored answer of an event handled before (same "
        "`event_id` and payload), sent again; also the `Idempotent-Replayed` header.",
    )
    names: list[str] | None = Field(
        default=None,
        exclude_if=lambda names: names is None,
        description="Dry runs only: what the event names, in the source's own ids "
        "(`course:<external id or key>`, `degree:<external id or marketing slug>`, "
        "`instructor:<external id>`), so that a client can keep each product's events in "
        "order; absent from other answers.",
        examples=[["course:xe-7001", "course:MITx+DS101", "instructor:in-1"]],
    )

    @model_validator(mode="after")
    def _cap_errors(self) -> EventAnswer:
        # One broken field repeated in 300 runs must not make a 300 KB answer.
        if len(self.errors) > MAX_ERRORS:
            self.errors_truncated += len(self.errors) - MAX_ERRORS
            self.errors = self.errors[:MAX_ERRORS]
        return self


def refusal(
    *,
    event_id: str,
    event_type: str,
    source: str,
    code: ErrorCode,
    message: str,
    step: str,
    status: EventStatus = EventStatus.REJECTED,
    retryable: bool = False,
    steps: list[StepRecord] | None = None,
) -> EventAnswer:
    """The answer to an event refused as a whole, for one reason."""
    return EventAnswer(
        event_id=event_id,
        event_type=event_type,
        source=source,
        status=status,
        retryable=retryable,
        steps=steps or [],
        errors=[EventIssue(code=code, message=message, step=step)],
    )
