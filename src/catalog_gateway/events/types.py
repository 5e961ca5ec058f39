"""The event types a source can send (DESIGN §4)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """One change a source announces."""

    INSTRUCTOR_UPSERT = "instructor.upsert"
    COURSE_UPSERT = "course.upsert"
    COURSE_RUN_UPSERT = "course_run.upsert"
    DEGREE_UPSERT = "degree.upsert"
    PRODUCT_UPSERT = "product.upsert"
    PRODUCT_RETIRE = "product.retire"
