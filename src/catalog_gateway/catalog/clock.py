"""Repairing a product whose stale-protection clock is in the future.

Each course, run, instructor and degree keeps the `occurred_at` of the newest event applied to
it; an event dated in the future (a source's broken clock, before the gateway refused such
events) would make every later event of that product stale. `reset_clock` brings those times
back to a given moment, so normal events apply again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog_gateway.catalog.models import Course, CourseRun, Degree, EventTracked, Instructor
from catalog_gateway.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class ClockReset:
    """One entity whose clock was brought back."""

    entity: str
    was: datetime
    now: datetime


def reset_clock(session: Session, key: str, to: datetime) -> list[ClockReset]:
    """Bring every stored `occurred_at` of the product `key` that is later than `to` back to
    `to`. `key`: a course key (its runs and their instructors too), a run key (its
    instructors too), a degree's marketing slug, or an instructor's uuid."""
    entities = _product(session, key)
    resets = []
    for label, entity in entities:
        if entity.last_occurred_at is not None and entity.last_occurred_at > to:
            resets.append(ClockReset(label, entity.last_occurred_at, to))
            entity.last_occurred_at = to
    return resets


def _product(session: Session, key: str) -> list[tuple[str, EventTracked]]:
    course = session.scalar(
        select(Course)
        .where(Course.key == key)
        .options(selectinload(Course.runs).selectinload(CourseRun.staff_links))
    )
    if course is not None:
        return [(f"course {course.key}", course)] + [
            item for run in course.runs for item in _run_with_staff(run)
        ]
    run = session.scalar(select(CourseRun).where(CourseRun.key == key))
    if run is not None:
        return _run_with_staff(run)
    degree = session.scalar(select(Degree).where(Degree.marketing_slug == key))
    if degree is not None:
        return [(f"degree {degree.marketing_slug}", degree)]
    instructor = _instructor(session, key)
    if instructor is not None:
        return [(f"instructor {instructor.uuid}", instructor)]
    raise NotFoundError(
        f"no course, run, degree or instructor {key!r} (give a course key such as MITx+DS101, "
        "a run key, a degree's marketing slug or an instructor's uuid)"
    )


def _run_with_staff(run: CourseRun) -> list[tuple[str, EventTracked]]:
    return [(f"course run {run.key}", run)] + [
        (f"instructor {instructor.uuid}", instructor) for instructor in run.staff
    ]


def _instructor(session: Session, key: str) -> Instructor | None:
    try:
        identity = uuid.UUID(key)
    except ValueError:
        return None
    return session.scalar(select(Instructor).where(Instructor.uuid == identity))
