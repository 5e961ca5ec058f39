"""The gateway's answers as this client reads them (DESIGN §4).

Deliberately lenient (codes and statuses are plain strings, unknown fields ignored) so that a
newer gateway with new error codes or statuses never breaks an older `ingest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from catalog_gateway.events.results import EventStatus, Products

SUCCESS = frozenset({EventStatus.APPLIED.value, EventStatus.UNCHANGED.value})
DRY_RUN_SUCCESS = frozenset({EventStatus.PLANNED.value})


class Issue(BaseModel):
    """An error or a warning of an event."""

    code: str
    message: str
    step: str | None = None
    path: str | None = None
    source_path: str | None = None
    detail: str | None = None


class Step(BaseModel):
    """One step of the trace."""

    name: str
    status: str
    target: str | None = None
    action: str | None = None


class Answer(BaseModel):
    """The answer to one event."""

    event_id: str
    event_type: str
    source: str
    status: str
    retryable: bool = False
    steps: list[Step] = Field(default_factory=list)
    products: Products = Field(default_factory=Products)
    errors: list[Issue] = Field(default_factory=list)
    warnings: list[Issue] = Field(default_factory=list)
    replayed: bool = False  # the stored answer of an event already handled, sent again
    names: list[str] | None = None  # dry runs: what the event names, in the source's ids


@dataclass(frozen=True, slots=True)
class Reply:
    """What became of one event: the gateway's answer, or why there is none."""

    answer: Answer | None
    http_status: int | None = None
    failure: str | None = None

    @classmethod
    def failed(cls, reason: str, http_status: int | None = None) -> Reply:
        """No answer for the event: `reason` says why."""
        return cls(answer=None, http_status=http_status, failure=reason)

    @property
    def status(self) -> str:
        """How the event ended for this run: the answer's status, except that an event applied
        by an earlier run (a replayed success) is `unchanged`; `failed` when there is no answer
        (`failure` says why)."""
        if self.answer is None:
            return EventStatus.FAILED.value
        if self.answer.replayed and self.answer.status in SUCCESS:
            return EventStatus.UNCHANGED.value
        return self.answer.status

    @property
    def retryable(self) -> bool:
        """Sending the same event again may succeed (it resumes, or it was still in progress)."""
        return self.answer is not None and self.answer.retryable

    def report(self) -> dict[str, Any]:
        """The reply as the JSON report shows it."""
        answer = self.answer
        return {
            "status": self.status,
            "answered_status": answer.status if answer else None,
            "replayed": answer.replayed if answer else False,
            "http_status": self.http_status,
            "retryable": self.retryable,
            "failure": self.failure,
            "errors": [issue.model_dump() for issue in answer.errors] if answer else [],
            "warnings": [issue.model_dump() for issue in answer.warnings] if answer else [],
            "products": answer.products.model_dump() if answer else None,
        }
