"""JSON Pointers (RFC 6901)."""

from __future__ import annotations

from collections.abc import Iterable


def pointer(parts: Iterable[str | int]) -> str:
    """`("course_runs", 0, "end")` → `/course_runs/0/end`."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def join(base: str, *parts: str | int) -> str:
    """`join("/course_runs/0", "seats", 1)` → `/course_runs/0/seats/1`."""
    return base + pointer(parts)
