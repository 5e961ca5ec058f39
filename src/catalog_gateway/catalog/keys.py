"""Catalog keys: derived once from the data, then kept for the product's whole life."""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import count, product

RUN_KEY_PREFIX = "course-v1:"


def course_key(organization_key: str, number: str) -> str:
    """`MITx` + `6.00x` → `MITx+6.00x`."""
    return f"{organization_key}+{number}"


def run_term(start: datetime) -> str:
    """The term of a run starting at `start` (in UTC): `{ceil(month/4)}T{year}`, Jan-Apr is 1."""
    moment = start.astimezone(UTC) if start.tzinfo is not None else start
    return f"{math.ceil(moment.month / 4)}T{moment.year}"


def letter_suffixes() -> Iterator[str]:
    """`a`, `b`, …, `z`, `aa`, `ab`, …: the suffixes that tell apart runs of the same term."""
    for length in count(1):
        for letters in product(string.ascii_lowercase, repeat=length):
            yield "".join(letters)


def course_run_key(course: str, start: datetime, is_taken: Callable[[str], bool]) -> str:
    """The first free key `course-v1:ORG+NUMBER+TERM`, adding a letter suffix on a clash."""
    base = f"{RUN_KEY_PREFIX}{course}+{run_term(start)}"
    if not is_taken(base):
        return base
    return next(key for key in (base + s for s in letter_suffixes()) if not is_taken(key))
