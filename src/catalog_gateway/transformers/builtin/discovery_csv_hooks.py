"""Hooks of `discovery_csv.yaml`: what the discovery spreadsheet needs beyond the mapping rules
(see the mapping file for which field uses which hook).

The payload is `{"rows": [...]}`: the rows of one course, one run per row.
"""

from __future__ import annotations

from typing import Any

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.builtin.values import (
    facts,
    language_as_written,
    split_person_name,
    staff_external_id,
)
from catalog_gateway.transformers.mapping import HookContext

SUBJECT_COLUMNS = ("primary_subject", "secondary_subject", "tertiary_subject")
STATS = (("stat1", "stat1_text"), ("stat2", "stat2_text"))
# The columns that say which course a row belongs to: the same in every row of an event.
COURSE_COLUMNS = ("organization", "number")


def course_external_id(value: Any, ctx: HookContext) -> str | None:
    """`external_identifier`, or, when the sheet has none, the course's `ORG+NUMBER` (stable
    as long as the sheet keeps naming the course the same way)."""
    if value:
        return str(value)
    organization, _ = ctx.read("/rows/0/organization")
    number, number_path = ctx.read("/rows/0/number")
    if not _text(organization) or not _text(number):
        return None
    ctx.record(ctx.canonical_path, number_path)
    return f"{_text(organization)}+{_text(number)}"


def subjects(value: Any, ctx: HookContext) -> list[str] | None:
    """Primary, secondary and tertiary subject (names or slugs), primary first (the gateway
    resolves each to a catalog subject)."""
    found: list[str] = []
    for column in SUBJECT_COLUMNS:
        name, source_path = ctx.read(f"/rows/0/{column}")
        if _text(name):
            ctx.record(f"{ctx.canonical_path}/{len(found)}", source_path)
            found.append(_text(name))
    return found or None


def stat_facts(value: Any, ctx: HookContext) -> list[dict[str, str]] | None:
    """stat1/stat1_text and stat2/stat2_text of the first row → marketing facts."""
    return facts(value, ctx, STATS)


def content_language(value: Any, ctx: HookContext) -> str | None:
    """A language name such as "English - United States" → "en-US" (a name of no language as
    written, for validation to report)."""
    return language_as_written(value)


def transcript_languages(value: Any, ctx: HookContext) -> list[str] | None:
    """A comma list of language names → their tags."""
    if not isinstance(value, list):
        return None
    tags = [tag for tag in map(language_as_written, value) if tag]
    return list(dict.fromkeys(tags)) or None


def staff_ids(value: Any, ctx: HookContext) -> list[str] | None:
    """A comma list of names → instructor ids made from the names, with a warning: the sheet
    identifies people by name only, so two people of one name would be one instructor."""
    if not isinstance(value, list) or not value:
        return None
    names = [str(name) for name in value]
    ctx.warn(
        ErrorCode.INSTRUCTOR_IDENTIFIED_BY_NAME,
        f"`{ctx.source_path}` names instructors without ids ({', '.join(names)}); they are "
        "identified by their names, so people who share a name share one instructor",
    )
    return list(dict.fromkeys(staff_external_id(name) for name in names))


def instructors(value: Any, ctx: HookContext) -> list[dict[str, Any]] | None:
    """Every person named in a `staff` column, once, with the id `staff_ids` gives them."""
    rows, rows_path = ctx.read("/rows")
    people: dict[str, dict[str, Any]] = {}
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        staff = row.get("staff") if isinstance(row, dict) else None
        for name in (part.strip() for part in str(staff or "").split(",")):
            external_id = staff_external_id(name) if name else None
            if external_id is None or external_id in people:
                continue
            ctx.record(f"{ctx.canonical_path}/{len(people)}", f"{rows_path}/{index}/staff")
            given_name, family_name = split_person_name(name)
            people[external_id] = {
                "external_id": external_id,
                "given_name": given_name,
                "family_name": family_name,
            }
    return list(people.values()) or None


def paid_seats(seats: Any, ctx: HookContext) -> list[dict[str, Any]] | None:
    """Only a run type with a paid seat has a seat here (its price is `verified_price`)."""
    if not isinstance(seats, list):
        return None
    return [seat for seat in seats if isinstance(seat, dict) and seat.get("type")] or None


def rows_of_one_course(runs: Any, ctx: HookContext) -> Any:
    """Each row is a run of the course the first row names: a row that names no course, or
    another one, is an error at that row's column."""
    rows, rows_path = ctx.read("/rows")
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return runs
    for index, row in enumerate(rows[1:], start=1):
        if not isinstance(row, dict):
            continue
        for column in COURSE_COLUMNS:
            source_path = f"{rows_path}/{index}/{column}"
            expected, written = _text(rows[0].get(column)), _text(row.get(column))
            if not written:
                ctx.error(
                    ErrorCode.REQUIRED,
                    f"`{source_path}` is required",
                    path=f"{ctx.canonical_path}/{index}",
                    source_path=source_path,
                )
            elif expected and written != expected:
                ctx.error(
                    ErrorCode.INVALID_VALUE,
                    f"`{source_path}` is {written!r}, but the rows of one event are the runs "
                    f"of one course, and `{rows_path}/0/{column}` is {expected!r}",
                    path=f"{ctx.canonical_path}/{index}",
                    source_path=source_path,
                )
    return runs


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""
