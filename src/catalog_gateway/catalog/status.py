"""The course-run state machine: the one place that decides how a run's status may move.

    unpublished ──► reviewed ──► published
         │  └───────────────────────▲│
         └──────► archived ◄─────────┘ (from any state)
    archived ──► unpublished (a retired product sent again comes back, unpublished)

Nothing ever moves a run backwards along unpublished → reviewed → published: re-sending an event
leaves a published run published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from catalog_gateway.catalog.models import RunStatus
from catalog_gateway.errors import IllegalTransitionError

ALLOWED_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.UNPUBLISHED: frozenset({RunStatus.REVIEWED, RunStatus.PUBLISHED, RunStatus.ARCHIVED}),
    RunStatus.REVIEWED: frozenset({RunStatus.PUBLISHED, RunStatus.ARCHIVED}),
    RunStatus.PUBLISHED: frozenset({RunStatus.ARCHIVED}),
    RunStatus.ARCHIVED: frozenset({RunStatus.UNPUBLISHED}),
}


class Transitioning(Protocol):
    """A run whose status moves (a row in memory, or an ORM object)."""

    key: str
    status: RunStatus


def transition(run: Transitioning, target: RunStatus) -> bool:
    """Move the run to `target`; False if it is already there; raise if the move is illegal."""
    if run.status == target:
        return False
    if target not in ALLOWED_TRANSITIONS[run.status]:
        raise IllegalTransitionError(
            f"course run {run.key} cannot go from {run.status.value} to {target.value}"
        )
    run.status = target
    return True


class RunState(Protocol):
    """What publishing looks at: a run's status and go-live date (a row, or a loaded summary)."""

    @property
    def status(self) -> RunStatus: ...

    @property
    def go_live_date(self) -> datetime | None: ...


def publication_target(run: RunState, now: datetime) -> RunStatus:
    """Where publishing takes a run: `reviewed` until its go-live date, then `published`."""
    if run.go_live_date is not None and run.go_live_date > now:
        return RunStatus.REVIEWED
    return RunStatus.PUBLISHED


def is_published(run: RunState, now: datetime) -> bool:
    """True if publishing would leave the run as it is (never moving it backwards)."""
    return run.status == RunStatus.PUBLISHED or run.status == publication_target(run, now)


class Publishable(Transitioning, Protocol):
    """A run that publishing moves."""

    go_live_date: datetime | None


def publish(run: Publishable, now: datetime) -> bool:
    """Publish the run (or mark it reviewed before go-live), never moving it backwards."""
    if is_published(run, now):
        return False
    return transition(run, publication_target(run, now))
