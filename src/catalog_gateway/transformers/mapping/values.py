"""Values as the engine sees them: MISSING, what counts as empty, and a value's problem."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from catalog_gateway.errors import ErrorCode


class _Missing:
    """The value of a path that leads nowhere (distinct from an explicit null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def is_empty(value: Any) -> bool:
    """Missing, null, a blank string, an empty list or an empty object."""
    if value is None or value is MISSING:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


class UnusableValueError(Exception):
    """A source value that a rule cannot use: an error code and what is wrong with it.

    `text` completes a sentence whose subject is the source field, e.g. "is not valid base64"
    becomes "`/cardUrl` is not valid base64".
    """

    def __init__(self, code: ErrorCode, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def shown(value: Any, limit: int = 60) -> str:
    """A value quoted for a message, cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kind(value: Any) -> str:
    """What a JSON value is, in words."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def one_of(pointers: Iterable[str]) -> str:
    """The source fields a value could have come from: `/a`, or one of `/a`, `/b`."""
    names = [f"`{pointer}`" for pointer in pointers]
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)
