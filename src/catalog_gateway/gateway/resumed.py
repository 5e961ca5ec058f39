"""What happens to an event after its catalog commit, when the process, the gateway or the
database fails before its answer is stored.

- Its record was stored `in_progress` with the catalog steps it committed (`engine`). If its
  answer cannot be stored now, the record stays so, and the event is resumed when it is sent
  (or replayed) again after its lease.
- A resumed event finds its catalog writes already there (`unchanged`); its answer says what
  the attempt that committed them did (`carry_over`): an answer is about the event, not about
  the attempt that happened to finish it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from catalog_gateway.db.engine import Database
from catalog_gateway.errors import ErrorCode
from catalog_gateway.events import log
from catalog_gateway.events.results import (
    EventAnswer,
    EventIssue,
    EventStatus,
    Products,
    StepStatus,
)

logger = logging.getLogger(__name__)

STORE_ANSWER_SECONDS = 3.0
"""How long storing an answer is tried again while the database fails: a connection lost (a
restart, a failover, a terminated backend) is usually back well within it."""

_UNCHANGED = "unchanged"
_STOPPED = ", which stopped before it was answered"


class Patience:
    """How long the answers of one request's events are tried again while the database fails:
    `STORE_ANSWER_SECONDS` until one could not be stored, then once each (when the database is
    gone, a batch must not wait that long for each of its events in turn)."""

    def __init__(self) -> None:
        self.gave_up = False

    def store(
        self,
        database: Database,
        record_id: int,
        answer: EventAnswer,
        canonical_payload: dict[str, Any] | None,
    ) -> EventAnswer:
        """Store the answer of an event that ran past its catalog commit. The answer to send:
        `answer`, with a warning (`answer_not_stored`) if it could not be stored."""
        retrying = Retrying(
            retry=retry_if_exception_type(SQLAlchemyError),
            wait=wait_exponential(multiplier=0.05, max=1.0),
            stop=stop_after_attempt(1) if self.gave_up else stop_after_delay(STORE_ANSWER_SECONDS),
            reraise=False,
        )
        try:
            retrying(log.finish, database, record_id, answer, canonical_payload)
        except RetryError:
            self.gave_up = True
            logger.exception(
                "the answer to event %s could not be stored; its record stays in_progress until "
                "the event is sent or replayed again after its lease",
                answer.event_id,
            )
            warning = EventIssue(
                code=ErrorCode.ANSWER_NOT_STORED,
                message="the catalog database failed while storing this answer: the event log "
                "shows the event in progress, and sending the same event again after its lease "
                "resumes it (it then answers what this attempt did)",
                step="event_log",
            )
            return answer.model_copy(update={"warnings": [*answer.warnings, warning]})
        return answer


def carry_over(answer: EventAnswer, prior: log.PriorState) -> EventAnswer:
    """`answer`, of an event resumed from a record left `in_progress`, with what the attempt
    that committed its catalog writes did: the steps it changed (now `unchanged`) keep their
    action, the products it touched are listed, and an event that changed something is
    `applied`, not `unchanged`."""
    if prior.status != EventStatus.IN_PROGRESS.value:
        return answer
    attempt = prior.answer.get("attempt", prior.attempts)
    done = {
        (step["name"], step.get("target")): (step["action"], _carried(step, attempt))
        for step in prior.answer.get("steps") or []
        if step.get("status") == StepStatus.OK.value
        and step.get("action") not in (None, _UNCHANGED)
    }
    if not done:
        return answer
    steps, carried = [], False
    for step in answer.steps:
        found = done.get((step.name, step.target))
        if found is not None and step.action == _UNCHANGED and step.status is StepStatus.OK:
            action, detail = found
            step = step.model_copy(update={"action": action, "detail": detail})
            carried = True
        steps.append(step)
    if not carried:
        return answer
    status = EventStatus.APPLIED if answer.status is EventStatus.UNCHANGED else answer.status
    return answer.model_copy(
        update={
            "steps": steps,
            "status": status,
            "products": _union(answer.products, prior.answer.get("products") or {}),
        }
    )


def _carried(step: dict[str, Any], attempt: int) -> str:
    """What a resumed answer says of a step an interrupted attempt did: that attempt's own
    words, if the step was already carried over from an earlier one (a second interruption)."""
    detail = step.get("detail") or ""
    if detail.endswith(_STOPPED):
        return str(detail)
    return f"{step['action']} by attempt {attempt}{_STOPPED}"


def _union(products: Products, earlier: dict[str, list[str]]) -> Products:
    merged = products.model_dump()
    for kind, keys in earlier.items():
        if kind in merged:
            merged[kind] = [*merged[kind], *(key for key in keys if key not in merged[kind])]
    return Products.model_validate(merged)
