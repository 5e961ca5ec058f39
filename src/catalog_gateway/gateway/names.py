"""What a request's events name, read from their canonical payloads before they are validated,
so that the catalog rows they need are loaded together (`catalog.state.Names`).

Read leniently: a payload that will not validate only adds names that are not found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from catalog_gateway.catalog.keys import course_key
from catalog_gateway.catalog.state import Names

# A source's organization code → the organization's key (None when it does not resolve).
OrganizationKeys = Callable[[str], str | None]


def names_of(
    payloads: Iterable[dict[str, Any]], organization_key: OrganizationKeys | None = None
) -> Names:
    """Everything the payloads name; with `organization_key`, also the key each course would
    be created with (to check whether another course holds it)."""
    names = Names()
    for payload in payloads:
        _add_names(payload, names, organization_key)
    return names


def _add_names(
    payload: dict[str, Any], names: Names, organization_key: OrganizationKeys | None
) -> None:
    for instructor in _list(payload.get("instructors")):
        _add(names.instructors, instructor, "external_id")
    _add(names.instructors, payload.get("instructor"), "external_id")
    for run in [*_list(payload.get("course_runs")), payload.get("run")]:
        if isinstance(run, dict):
            names.instructors.update(s for s in _list(run.get("staff")) if isinstance(s, str))
    course = payload.get("course")
    _add(names.courses, course, "external_id")
    _add(names.course_keys, course, "key")
    _add(names.course_slugs, course, "slug")
    if organization_key is not None and isinstance(course, dict):
        code, number = course.get("organization"), course.get("number")
        if isinstance(code, str) and isinstance(number, str):
            key = organization_key(code)
            if key is not None:
                names.course_keys.add(course_key(key, number))
    degree = payload.get("degree")
    _add(names.degrees, degree, "external_id")
    _add(names.degree_slugs, degree, "marketing_slug")
    if isinstance(degree, dict):
        references = [r for r in _list(degree.get("courses")) if isinstance(r, str)]
        names.courses.update(references)
        names.course_keys.update(references)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _add(into: set[str], item: object, name: str) -> None:
    value = item.get(name) if isinstance(item, dict) else None
    if isinstance(value, str):
        into.add(value)


def identities(names: Names) -> list[str]:
    """`names` as the ids a client groups events by: `course:…` (external ids and keys),
    `degree:…` (external ids and marketing slugs), `instructor:…` (external ids)."""
    return sorted(
        {
            *(f"course:{name}" for name in (*names.courses, *names.course_keys)),
            *(f"degree:{name}" for name in (*names.degrees, *names.degree_slugs)),
            *(f"instructor:{name}" for name in names.instructors),
        }
    )
