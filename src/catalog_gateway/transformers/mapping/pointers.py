"""Source paths of mapping rules: JSON Pointers (RFC 6901) into the current item or the root.

`/a/b` reads from the current scope (the payload, or the item of an enclosing `each`),
`$/a/b` from the payload root, `.` is the current scope itself and `$` the root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from catalog_gateway.pointers import pointer
from catalog_gateway.transformers.mapping.values import MISSING

_BAD_ESCAPE = re.compile(r"~(?![01])")
ROOT = "$"
CURRENT = "."


@dataclass(frozen=True, slots=True)
class SourcePath:
    """A compiled source path; `locate` finds its value and the pointer it has in the payload."""

    text: str
    from_root: bool
    tokens: tuple[str, ...]
    suffix: str

    def locate(self, item: Any, item_pointer: str, root: Any) -> tuple[Any, str]:
        """The value (MISSING when absent) and its absolute source pointer."""
        if self.from_root:
            value, base = root, ""
        else:
            value, base = item, item_pointer
        for token in self.tokens:
            if isinstance(value, dict):
                value = value.get(token, MISSING)
            elif isinstance(value, list) and _is_index(token) and int(token) < len(value):
                value = value[int(token)]
            else:
                value = MISSING
            if value is MISSING:
                break
        return value, base + self.suffix


def parse_source_path(text: str) -> SourcePath:
    """Compile a source path; `ValueError` with a message for the mapping's author if malformed."""
    if not isinstance(text, str):
        raise ValueError(f"a source path is a string such as /name, got {text!r}")
    if text in (ROOT, CURRENT):
        return SourcePath(text=text, from_root=text == ROOT, tokens=(), suffix="")
    from_root = text.startswith(ROOT + "/")
    body = text[len(ROOT) :] if from_root else text
    if not body.startswith("/"):
        raise ValueError(
            f"{text!r} is not a source path: write a JSON Pointer such as /name "
            "($/name from the payload root, . for the current item)"
        )
    tokens = tuple(_unescape(token, text) for token in body[1:].split("/"))
    return SourcePath(text=text, from_root=from_root, tokens=tokens, suffix=pointer(tokens))


@lru_cache(maxsize=256)
def cached_source_path(text: str) -> SourcePath:
    """`parse_source_path`, remembered: for hooks that read by path on every event."""
    return parse_source_path(text)


def _unescape(token: str, text: str) -> str:
    if _BAD_ESCAPE.search(token):
        raise ValueError(f"{text!r}: `~` must be followed by 0 or 1 (RFC 6901 escapes)")
    return token.replace("~1", "/").replace("~0", "~")


def _is_index(segment: str) -> bool:
    return segment.isdigit() and (segment == "0" or not segment.startswith("0"))
