"""What a field rule does to its value after taking it: decode, default, split, map, type.

Each step takes the value and returns it changed; a value it cannot use is noted in `problems`
and left out (an element of a list is dropped, the list kept).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.mapping.values import (
    MISSING,
    UnusableValueError,
    is_empty,
    kind,
    shown,
)

MapUnknown = Literal["error", "keep", "drop"]


class Step(Protocol):
    """One stage of a field rule after its source: decode, default, split, map, type."""

    def run(self, value: Any, problems: list[UnusableValueError]) -> Any:
        """The value after this stage; a value it cannot use is noted in `problems`."""
        ...


@dataclass(frozen=True, slots=True)
class Convert:
    """A conversion of non-empty values, applied to each element of a list (unless whole)."""

    function: Callable[[Any], Any]
    whole: bool = False

    def run(self, value: Any, problems: list[UnusableValueError]) -> Any:
        if is_empty(value):
            return value
        if isinstance(value, list) and not self.whole:
            converted = []
            for element in value:
                if is_empty(element):
                    continue
                try:
                    result = self.function(element)
                except UnusableValueError as problem:
                    problems.append(problem)
                    continue
                if result is not MISSING:
                    converted.append(result)
            return converted
        try:
            return self.function(value)
        except UnusableValueError as problem:
            problems.append(problem)
            return MISSING


@dataclass(frozen=True, slots=True)
class Default:
    """`default:` — the value when the source's is empty (and was not malformed)."""

    value: Any

    def run(self, value: Any, problems: list[UnusableValueError]) -> Any:
        if is_empty(value) and not problems:
            return copy.deepcopy(self.value)
        return value


@dataclass(frozen=True, slots=True)
class Split:
    """`split:` — text → trimmed, non-empty parts."""

    separator: str

    def run(self, value: Any, problems: list[UnusableValueError]) -> Any:
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(self.separator) if part.strip()]


@dataclass(frozen=True, slots=True)
class ValueMap:
    """`map:` — source values → canonical values, keys compared trimmed and case-insensitively."""

    choices: dict[str, Any]
    allowed: str
    unknown: MapUnknown

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            raise UnusableValueError(
                ErrorCode.INVALID_TYPE, f"is {kind(value)}, expected one value"
            )
        key = map_key(value)
        if key in self.choices:
            return copy.deepcopy(self.choices[key])
        if self.unknown == "keep":
            return value
        if self.unknown == "drop":
            return MISSING
        raise UnusableValueError(
            ErrorCode.INVALID_CHOICE, f"has a value with no mapping: {shown(value)}; {self.allowed}"
        )


def map_key(value: Any) -> str:
    """How `map:` compares values: trimmed, case-insensitive text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()
