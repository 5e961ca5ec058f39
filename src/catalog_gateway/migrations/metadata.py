"""Imports every model so that `Base.metadata` is complete (for migrations and tests)."""

from catalog_gateway.auth.models import ApiKey
from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    CourseSubject,
    Degree,
    DegreeCourse,
    Instructor,
    Organization,
    RunStaff,
    Seat,
)
from catalog_gateway.catalog.reference import (
    CourseType,
    Level,
    ProgramType,
    RunType,
    SeatType,
    Subject,
)
from catalog_gateway.db.base import Base
from catalog_gateway.events.models import EventRecord
from catalog_gateway.sources.models import Source, SourceOrganizationCode, SourceValueAlias

__all__ = [
    "ApiKey",
    "Base",
    "Course",
    "CourseRun",
    "CourseSubject",
    "CourseType",
    "Degree",
    "DegreeCourse",
    "EventRecord",
    "Instructor",
    "Level",
    "Organization",
    "ProgramType",
    "RunStaff",
    "RunType",
    "Seat",
    "SeatType",
    "Source",
    "SourceOrganizationCode",
    "SourceValueAlias",
    "Subject",
]
