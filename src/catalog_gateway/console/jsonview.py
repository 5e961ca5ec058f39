"""A payload pretty-printed as HTML, with the values that errors and warnings point at marked.

Each marked value (by JSON Pointer) is wrapped in a `<mark>` with an id, so an error in the list
can link to the field it is about. A pointer to a field that is absent (a required field the
source did not send) marks its nearest ancestor that is present instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from catalog_gateway.pointers import join

ERROR = "error"
WARNING = "warning"
_INDENT = "  "


@dataclass(frozen=True, slots=True)
class Located:
    """Where a pointer lands in a payload: the pointer marked, and whether it is exact."""

    pointer: str
    exact: bool


def anchor(prefix: str, pointer: str) -> str:
    """A stable HTML id for a pointer in one of the page's payload views."""
    return f"{prefix}-{hashlib.sha256(pointer.encode()).hexdigest()[:12]}"


def locate(document: Any, pointer: str) -> Located:
    """The pointer itself if `document` has it, else its nearest present ancestor."""
    found = ""
    node = document
    for token in _tokens(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return Located(found, exact=False)
        found = join(found, token)
    return Located(found, exact=True)


def render(document: Any, marks: Mapping[str, str], *, prefix: str) -> Markup:
    """`document` as indented JSON in HTML; each pointer in `marks` marked as error/warning."""
    lines: list[str] = []
    _node(document, "", "", 0, True, marks, prefix, lines)
    return Markup("".join(lines))  # noqa: S704 (every value was escaped by _node)


def _node(
    value: Any,
    pointer: str,
    label: str,
    depth: int,
    last: bool,
    marks: Mapping[str, str],
    prefix: str,
    lines: list[str],
) -> None:
    pad = _INDENT * depth
    comma = "" if last else ","
    kind = marks.get(pointer)
    if kind:
        lines.append(
            f'<mark class="json-mark json-{kind}" id="{anchor(prefix, pointer)}" '
            f'data-pointer="{escape(pointer)}" tabindex="-1">'
        )
    if isinstance(value, dict | list) and value:
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        lines.append(f"{pad}{label}{opening}\n")
        children = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for index, (key, child) in enumerate(children):
            child_label = (
                f'<span class="json-key">{escape(json.dumps(key, ensure_ascii=False))}</span>: '
                if isinstance(value, dict)
                else ""
            )
            child_pointer = join(pointer, key)
            last_child = index == len(children) - 1
            _node(child, child_pointer, child_label, depth + 1, last_child, marks, prefix, lines)
        lines.append(f"{pad}{closing}{comma}")
    else:
        text = escape(json.dumps(value, ensure_ascii=False))
        lines.append(f'{pad}{label}<span class="json-{_kind_of(value)}">{text}</span>{comma}')
    lines.append("\n</mark>" if kind else "\n")


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "empty"


def _tokens(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]
