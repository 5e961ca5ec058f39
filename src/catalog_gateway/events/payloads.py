"""Canonical payload models per event type: what a transformer must produce."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog_gateway.catalog.inputs import (
    CourseInput,
    CourseRunInput,
    DegreeInput,
    InstructorInput,
)
from catalog_gateway.events.types import EventType


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CourseReference(_Payload):
    """A course named by the source's external id or by its key (exactly one)."""

    external_id: str | None = Field(default=None, min_length=1, examples=["xe-7001"])
    key: str | None = Field(default=None, min_length=1, examples=["MITx+DS101"])

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("external_id") is None) == (
            data.get("key") is None
        ):
            raise ValueError("name the course by exactly one of external_id or key")
        return data


class DegreeReference(_Payload):
    """A degree named by the source's external id."""

    external_id: str = Field(min_length=1, examples=["deg-1"])


class InstructorUpsert(_Payload):
    """`instructor.upsert`: one instructor."""

    instructor: InstructorInput


class CourseUpsert(_Payload):
    """`course.upsert`: a course without its runs."""

    course: CourseInput


class CourseRunUpsert(_Payload):
    """`course_run.upsert`: one run of an existing course, with its seats and new instructors."""

    course: CourseReference
    run: CourseRunInput
    instructors: list[InstructorInput] = Field(default_factory=list)


class DegreeUpsert(_Payload):
    """`degree.upsert`: a degree and its ordered courses."""

    degree: DegreeInput


class ProductUpsert(_Payload):
    """`product.upsert`: a complete product — course, runs with seats, instructors."""

    course: CourseInput
    instructors: list[InstructorInput] = Field(default_factory=list)
    course_runs: list[CourseRunInput] = Field(default_factory=list)


class ProductRetire(_Payload):
    """`product.retire`: archive a course (and its runs) or a degree (exactly one)."""

    course: CourseReference | None = None
    degree: DegreeReference | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("course") is None) == (data.get("degree") is None):
            raise ValueError("retire exactly one of a course or a degree")
        return data


Payload = (
    InstructorUpsert | CourseUpsert | CourseRunUpsert | DegreeUpsert | ProductUpsert | ProductRetire
)

PAYLOAD_MODELS: dict[EventType, type[Payload]] = {
    EventType.INSTRUCTOR_UPSERT: InstructorUpsert,
    EventType.COURSE_UPSERT: CourseUpsert,
    EventType.COURSE_RUN_UPSERT: CourseRunUpsert,
    EventType.DEGREE_UPSERT: DegreeUpsert,
    EventType.PRODUCT_UPSERT: ProductUpsert,
    EventType.PRODUCT_RETIRE: ProductRetire,
}


def payload_schema(event_type: EventType) -> dict[str, Any]:
    """The canonical JSON Schema of an event type's payload."""
    return PAYLOAD_MODELS[event_type].model_json_schema()
