"""Text that is safe to put in an answer, whatever a client sent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def printable(text: str) -> str:
    """`text` with lone surrogates written as `\\udXXX` escapes, so it can be encoded as UTF-8
    (an answer that echoes a client's bad text must not fail to be sent)."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """A count and its noun, singular for exactly one: `1 error`, `0 errors`, `2 errors`."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def nul_places(document: Any) -> list[tuple[str | int, ...]]:
    """The places (JSON Pointer parts, in document order) of every string or member name that
    holds a NUL character, which no catalog column (nor PostgreSQL's JSON) can store."""
    if not _holds_nul(document):
        return []
    places: list[tuple[str | int, ...]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, parts = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                places.append(parts)
        elif isinstance(value, dict):
            children: list[tuple[Any, tuple[str | int, ...]]] = []
            for name, item in value.items():
                if "\x00" in name:
                    places.append((*parts, name))
                children.append((item, (*parts, name)))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(item, (*parts, i)) for i, item in enumerate(value)]))
    return places


def _holds_nul(document: Any) -> bool:
    """Whether any string or member name holds a NUL: the common answer (no), found without
    building places."""
    if isinstance(document, str):
        return "\x00" in document
    stack = [document]
    while stack:
        value = stack.pop()
        items: Iterable[Any]
        if isinstance(value, dict):
            if any("\x00" in name for name in value):
                return True
            items = value.values()
        elif isinstance(value, list):
            items = value
        else:
            continue
        for item in items:
            if isinstance(item, str):
                if "\x00" in item:
                    return True
            elif isinstance(item, dict | list):
                stack.append(item)
    return False
