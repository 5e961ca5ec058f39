"""Validation that finds everything at once: the schema, then the rules that need several
fields or the catalog (dates in order, references, ownership).

Rules run on every part of the payload that is well-formed on its own, so one broken run does
not hide the problems of the course or of the other runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from catalog_gateway.catalog import rules
from catalog_gateway.catalog.fields import UtcDateTime
from catalog_gateway.catalog.keys import course_key
from catalog_gateway.catalog.organizations import OrganizationCache, resolve_organization
from catalog_gateway.catalog.state import CatalogState, CourseRow, DegreeRow
from catalog_gateway.catalog.vocabulary import Vocabulary
from catalog_gateway.errors import ErrorCode, UnknownReferenceError
from catalog_gateway.events.payloads import PAYLOAD_MODELS, CourseReference, Payload
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.schema_errors import field_errors
from catalog_gateway.pointers import join

ModelT = TypeVar("ModelT", bound=BaseModel)
ValueT = TypeVar("ValueT")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: a code, a message for the integrator, and a canonical JSON Pointer."""

    code: ErrorCode
    message: str
    path: str | None
    step: str = "validate"
    detail: str | None = None


@dataclass(slots=True)
class Validation:
    """The payload model (None when the schema failed) and every problem found."""

    payload: Payload | None
    errors: list[Finding] = field(default_factory=list)


def validate(
    session: Session,
    state: CatalogState,
    vocabulary: Vocabulary,
    event_type: EventType,
    data: dict[str, Any],
    organizations: OrganizationCache | None = None,
) -> Validation:
    """Check `data` as the canonical payload of `event_type` for the source of `state` (the
    catalog as the events before it in the same request left it)."""
    result = Validation(payload=None)
    try:
        result.payload = PAYLOAD_MODELS[event_type].model_validate(data)
    except ValidationError as error:
        result.errors.extend(Finding(*problem) for problem in field_errors(error))
    rules = _Rules(session, state, vocabulary, organizations)
    rules.check(event_type, data)
    reported = {finding.path for finding in result.errors}
    result.errors.extend(f for f in rules.findings if f.path not in reported)
    return result


class _Rules:
    """The cross-field and reference rules, collecting findings instead of stopping."""

    def __init__(
        self,
        session: Session,
        state: CatalogState,
        vocabulary: Vocabulary,
        organizations: OrganizationCache | None,
    ) -> None:
        self.session = session
        self.state = state
        self.source_id = state.source_id
        self.vocabulary = vocabulary
        self.organizations = organizations
        self.findings: list[Finding] = []

    def add(self, code: ErrorCode, message: str, path: str) -> None:
        self.findings.append(Finding(code, message, path))

    def violated(self, violation: rules.Violation | None, base: str) -> None:
        """Note a broken catalog rule at its field under `base`."""
        if violation is not None:
            path = join(base, violation.field) if violation.field else base
            self.add(violation.code, violation.message, path)

    def check(self, event_type: EventType, data: dict[str, Any]) -> None:
        if event_type is EventType.PRODUCT_UPSERT:
            self.product(data)
        elif event_type is EventType.COURSE_UPSERT:
            self.course(data.get("course"), "/course")
        elif event_type is EventType.COURSE_RUN_UPSERT:
            self.course_run_event(data)
        elif event_type is EventType.DEGREE_UPSERT:
            self.degree(data.get("degree"), "/degree")
        elif event_type is EventType.PRODUCT_RETIRE:
            self.retirement(data)

    # --- events -------------------------------------------------------------------------

    def product(self, data: dict[str, Any]) -> None:
        course_type = self.course(data.get("course"), "/course")
        instructor_ids = self.instructors(data.get("instructors"), "/instructors")
        external_ids: set[str] = set()
        for index, raw in _items(data.get("course_runs")):
            base = join("/course_runs", index)
            self.run(raw, base, course_type, instructor_ids)
            external_id = _text(raw, "external_id")
            if external_id is None:
                continue
            if external_id in external_ids:
                self.add(
                    ErrorCode.DUPLICATE_ID,
                    f"another run of this product has external id {external_id!r}",
                    join(base, "external_id"),
                )
            external_ids.add(external_id)

    def course_run_event(self, data: dict[str, Any]) -> None:
        reference = _parse(CourseReference, data.get("course"))
        course = self.referenced_course(reference, "/course") if reference else None
        instructor_ids = self.instructors(data.get("instructors"), "/instructors")
        self.run(data.get("run"), "/run", course.course_type if course else None, instructor_ids)

    def retirement(self, data: dict[str, Any]) -> None:
        reference = _parse(CourseReference, data.get("course"))
        if reference is not None:
            self.referenced_course(reference, "/course")
        external_id = _text(data.get("degree"), "external_id")
        if external_id is not None and self._degree(external_id) is None:
            self.add(
                ErrorCode.UNKNOWN_DEGREE,
                f"this source has no degree with external id {external_id!r}",
                "/degree/external_id",
            )

    # --- parts: each reads only the fields it needs, so a broken neighbour hides nothing ---

    def course(self, raw: Any, base: str) -> str | None:
        """Check a course; its course type if known (runs are checked against it)."""
        if not isinstance(raw, dict):
            return None
        vocabulary = self.vocabulary
        course_type = _text(raw, "course_type")
        if course_type is not None and not self.reference(
            lambda: vocabulary.require_course_type(course_type), base
        ):
            course_type = None
        level = _text(raw, "level")
        if level is not None:
            self.reference(lambda: vocabulary.require_level(level), base)
        for index, subject in _items(raw.get("subjects")):
            if isinstance(subject, str):
                self.reference(
                    lambda s=subject: vocabulary.require_subject(s),
                    join(base, "subjects", index),
                    "",
                )
        seat_type = _text(raw.get("entitlement"), "seat_type")
        if seat_type is not None:
            self.entitlement(seat_type, course_type, join(base, "entitlement", "seat_type"))
        code = _text(raw, "organization")
        organization_key = self.organization(code, join(base, "organization")) if code else None
        external_id, number = _text(raw, "external_id"), _text(raw, "number")
        if organization_key and external_id and number:
            self.course_identity(external_id, course_key(organization_key, number), base)
        slug = _text(raw, "slug")
        if slug is not None and external_id is not None:
            self.violated(rules.course_slug_holder(self.state, slug, external_id), base)
        return course_type

    def entitlement(self, seat_type: str, course_type: str | None, path: str) -> None:
        if seat_type not in self.vocabulary.seat_types:
            self.add(ErrorCode.UNKNOWN_SEAT_TYPE, f"unknown seat type {seat_type!r}", path)
            return
        if course_type is None:
            return
        allowed = {
            seat
            for run_type in self.vocabulary.run_types_by_course_type[course_type]
            for seat in self.vocabulary.seat_types_by_run_type.get(run_type, ())
        }
        if seat_type not in allowed:
            self.add(
                ErrorCode.SEAT_TYPE_NOT_ALLOWED,
                f"seat type {seat_type!r} is not sold with course type {course_type!r}; "
                f"allowed: {', '.join(sorted(allowed))}",
                path,
            )

    def course_identity(self, external_id: str, key: str, base: str) -> None:
        """A new course must not take a key another course holds."""
        if self.state.course(external_id) is None:
            self.violated(rules.course_key_holder(self.state, key), base)

    def instructors(self, raw: Any, base: str) -> set[str]:
        """Instructor external ids sent in the payload (checked for duplicates)."""
        ids: set[str] = set()
        for index, item in _items(raw):
            external_id = _text(item, "external_id")
            if external_id is None:
                continue
            if external_id in ids:
                self.add(
                    ErrorCode.DUPLICATE_ID,
                    f"instructor {external_id!r} is listed twice",
                    join(base, index, "external_id"),
                )
            ids.add(external_id)
        return ids

    def run(self, raw: Any, base: str, course_type: str | None, instructor_ids: set[str]) -> None:
        if not isinstance(raw, dict):
            return
        self.run_dates(raw, base)
        low, high = _value(raw, "min_effort", _INT), _value(raw, "max_effort", _INT)
        if low is not None and high is not None and low > high:
            self.add(
                ErrorCode.INVALID_EFFORT,
                f"max_effort ({high}) is below min_effort ({low})",
                join(base, "max_effort"),
            )
        run_type = _text(raw, "run_type")
        run_type_ok = (
            course_type is not None
            and run_type is not None
            and self.reference(
                lambda: self.vocabulary.require_run_type(course_type, run_type), base
            )
        )
        typed: list[tuple[int, tuple[str, str]]] = []
        for index, seat in _items(raw.get("seats")):
            seat_type, currency = _text(seat, "type"), _text(seat, "currency")
            if seat_type is None:
                continue
            if run_type_ok and run_type is not None:
                self.reference(
                    lambda t=seat_type: self.vocabulary.require_seat_type(run_type, t),
                    join(base, "seats", index),
                )
            typed.append((index, (seat_type, str(currency))))
        for position, violation in rules.duplicate_seats(identity for _, identity in typed):
            self.add(violation.code, violation.message, join(base, "seats", typed[position][0]))
        staff = [(index, item) for index, item in _items(raw.get("staff")) if isinstance(item, str)]
        self.staff(staff, join(base, "staff"), instructor_ids)

    def run_dates(self, raw: dict[str, Any], base: str) -> None:
        start, end = _value(raw, "start", _TIME), _value(raw, "end", _TIME)
        enrollment_start = _value(raw, "enrollment_start", _TIME)
        enrollment_end = _value(raw, "enrollment_end", _TIME)
        if start is not None and end is not None:
            self.violated(rules.run_ends_after_start(start, end), base)
        if enrollment_start and enrollment_end and enrollment_end < enrollment_start:
            self.add(
                ErrorCode.INVALID_DATE,
                "enrollment_end must not be before enrollment_start",
                join(base, "enrollment_end"),
            )
        if enrollment_end is not None and end is not None and enrollment_end > end:
            self.add(
                ErrorCode.INVALID_DATE,
                "enrollment_end must not be after the run's end",
                join(base, "enrollment_end"),
            )

    def staff(self, staff: list[tuple[int, str]], base: str, sent: set[str]) -> None:
        unknown = {external_id for _, external_id in staff if external_id not in sent}
        unknown = {
            external_id for external_id in unknown if self.state.instructor(external_id) is None
        }
        names = [external_id for _, external_id in staff]
        known = set(names) - unknown
        for position, violation in rules.unknown_staff(names, known):
            self.add(violation.code, violation.message, join(base, staff[position][0]))

    def degree(self, raw: Any, base: str) -> None:
        if not isinstance(raw, dict):
            return
        vocabulary = self.vocabulary
        program_type = _text(raw, "program_type")
        if program_type is not None:
            self.reference(lambda: vocabulary.require_program_type(program_type), base)
        level = _text(raw, "level")
        if level is not None:
            self.reference(lambda: vocabulary.require_level(level), base)
        subject = _text(raw, "primary_subject")
        if subject is not None:
            self.reference(
                lambda: vocabulary.require_subject(subject), join(base, "primary_subject"), ""
            )
        code = _text(raw, "organization")
        if code is not None:
            self.organization(code, join(base, "organization"))
        for index, reference in _items(raw.get("courses")):
            if (
                isinstance(reference, str)
                and rules.course_by_reference(self.state, reference) is None
            ):
                violation = rules.unknown_degree_course(reference)
                self.add(violation.code, violation.message, join(base, "courses", index))
        slug, external_id = _text(raw, "marketing_slug"), _text(raw, "external_id")
        if slug is not None:
            self.degree_slug(slug, external_id, base)

    def degree_slug(self, slug: str, external_id: str | None, base: str) -> None:
        violation = rules.marketing_slug_holder(self.state, slug, external_id)
        self.violated(violation, base)

    # --- lookups ------------------------------------------------------------------------

    def organization(self, code: str, path: str) -> str | None:
        try:
            return resolve_organization(self.session, self.source_id, code, self.organizations).key
        except UnknownReferenceError as error:
            self.add(error.code, error.message, path)
            return None

    def referenced_course(self, reference: CourseReference, base: str) -> CourseRow | None:
        course, violation = rules.referenced_course(
            self.state, external_id=reference.external_id, key=reference.key
        )
        self.violated(violation, base)
        return course

    def reference(self, check: Any, base: str, field_name: str | None = None) -> bool:
        """Run a vocabulary check; on failure, note it at `base/<field>` and return False."""
        try:
            check()
        except UnknownReferenceError as error:
            name = error.field if field_name is None else field_name
            path = join(base, name) if name else base
            self.add(error.code, error.message, path)
            return False
        return True

    def _degree(self, external_id: str) -> DegreeRow | None:
        return self.state.degree(external_id)


def _parse(model: type[ModelT], raw: Any) -> ModelT | None:
    """The part as a model, or None if it is malformed (the schema step reported why)."""
    if not isinstance(raw, dict):
        return None
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


def _items(raw: Any) -> Iterator[tuple[int, Any]]:
    return enumerate(raw) if isinstance(raw, list) else iter(())


def _text(raw: Any, key: str) -> str | None:
    """A non-empty string field of a raw object, else None."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _value(raw: dict[str, Any], key: str, adapter: TypeAdapter[ValueT]) -> ValueT | None:
    """A field parsed as the schema would, or None if absent or malformed."""
    if raw.get(key) is None:
        return None
    try:
        return adapter.validate_python(raw[key])
    except ValidationError:
        return None


_TIME: TypeAdapter[datetime] = TypeAdapter(UtcDateTime)
_INT: TypeAdapter[int] = TypeAdapter(int)
